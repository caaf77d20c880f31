// mcpbox admin: progressive enhancement only. Every page works without this file.
// 1. <time datetime> in the viewer's time zone.  2. Live tail of the activity log over SSE.
"use strict";

(function () {
  const pad = (n) => String(n).padStart(2, "0");

  function localText(date) {
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
      pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
  }

  function localizeTimes(root) {
    root.querySelectorAll("time[datetime]").forEach((node) => {
      const date = new Date(node.getAttribute("datetime"));
      if (!Number.isNaN(date.getTime())) {
        node.title = node.getAttribute("datetime");
        node.textContent = localText(date);
      }
    });
  }

  function showZone() {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    document.querySelectorAll("[data-timezone]").forEach((node) => { node.textContent = zone || "local time"; });
  }

  function cell(text, className) {
    const td = document.createElement("td");
    if (className) td.className = className;
    td.textContent = text == null ? "" : String(text);
    return td;
  }

  function activityRow(item) {
    const tr = document.createElement("tr");
    const timeCell = document.createElement("td");
    const time = document.createElement("time");
    time.setAttribute("datetime", item.at);
    time.textContent = item.at;
    timeCell.appendChild(time);
    tr.appendChild(timeCell);
    const eventCell = document.createElement("td");
    const code = document.createElement("code");
    code.textContent = item.name;
    eventCell.appendChild(code);
    if (item.method) eventCell.appendChild(document.createTextNode(" " + item.method));
    tr.appendChild(eventCell);
    const outcomeCell = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge badge-" + String(item.outcome).replace(/[^a-z]/g, "");
    badge.textContent = item.outcome;
    outcomeCell.appendChild(badge);
    tr.appendChild(outcomeCell);
    tr.appendChild(cell(item.actor));
    tr.appendChild(cell(item.server));
    tr.appendChild(cell(item.tool));
    const ms = item.duration_ms == null ? "" : (item.duration_ms >= 10 ? item.duration_ms.toFixed(0) : item.duration_ms.toFixed(1)) + " ms";
    tr.appendChild(cell(ms, "num"));
    tr.className = "fresh";
    localizeTimes(tr);
    return tr;
  }

  function liveTail() {
    const table = document.querySelector("table[data-stream-url]");
    const controls = document.querySelector("[data-live]");
    if (!table || !controls || !window.EventSource || table.dataset.streamEnabled !== "yes") return;
    const toggle = controls.querySelector("[data-live-toggle]");
    const status = controls.querySelector("[data-live-status]");
    const rows = table.querySelector("[data-activity-rows]");
    let source = null;
    controls.hidden = false;

    function stop(message) {
      if (source) source.close();
      source = null;
      status.textContent = message;
    }

    toggle.addEventListener("change", () => {
      if (!toggle.checked) { stop("paused"); return; }
      source = new EventSource(table.dataset.streamUrl);
      status.textContent = "connecting…";
      source.addEventListener("open", () => { status.textContent = "live"; });
      source.addEventListener("error", () => { status.textContent = "reconnecting…"; });
      source.addEventListener("activity", (event) => {
        try {
          rows.insertBefore(activityRow(JSON.parse(event.data)), rows.firstChild);
          while (rows.children.length > 500) rows.removeChild(rows.lastChild);
        } catch (err) {
          stop("stopped: " + err.message);
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    localizeTimes(document);
    showZone();
    liveTail();
  });
})();
