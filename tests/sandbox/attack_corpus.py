"""Escape attempts against the sandbox, as data: ``(group, name, source)``.

Each ``main()`` tries to reach something a tool must never have (a module, a frame, the real
builtins, the file system, the environment, another call's data) and, if it got there, returns a
string starting with ``ESCAPED``. The policy tests run every case in-process and expect a clean
refusal; the process-boundary tests run the same cases in real workers (with and without the
policy) and expect the OS layer to stop the ones listed in ``OS_LAYER``.

``UNRESTRICTED_ESCAPES`` names the cases that demonstrably escape with the policy switched off
(``prepare(..., policy=False)``) when run in-process: proof the case is a real attack, not a typo
that fails on its own.
"""

# ruff: noqa: E501 - one attack per line reads better than wrapped strings
from __future__ import annotations

from typing import Final


def _case(
    group: str, name: str, body: str, *, header: str = "", is_async: bool = False
) -> tuple[str, str, str]:
    lines = body.strip("\n").splitlines()
    indented = "\n".join("    " + line for line in lines)
    keyword = "async def" if is_async else "def"
    source = (
        f"{header.strip()}\n\n{keyword} main():\n{indented}\n"
        if header
        else f"{keyword} main():\n{indented}\n"
    )
    return (group, name, source)


ATTACKS: Final[list[tuple[str, str, str]]] = [
    # --- introspection: from an ordinary object to object.__subclasses__() and beyond ----------
    _case(
        "introspection",
        "class_base_subclasses",
        "return 'ESCAPED' + str(().__class__.__base__.__subclasses__())",
    ),
    _case(
        "introspection",
        "getattr_computed_dunder",
        "c = getattr((), '_' + '_class__')\nreturn 'ESCAPED' + str(c)",
    ),
    _case(
        "introspection",
        "getattr_join_dunder",
        "n = ''.join(['__', 'cla', 'ss__'])\nreturn 'ESCAPED' + str(getattr(1, n))",
    ),
    _case(
        "introspection",
        "getattr_chr_dunder",
        "n = chr(95) * 2 + 'globals' + chr(95) * 2\nreturn 'ESCAPED' + str(getattr(main, n))",
    ),
    _case("introspection", "type_mro", "return 'ESCAPED' + str(type(1).mro())"),
    _case("introspection", "type_mro_getattr", "m = getattr(type(1), 'mro')\nreturn 'ESCAPED' + str(m())"),
    _case("introspection", "type_three_args", "T = type('T', (), {'x': 1})\nreturn 'ESCAPED' + str(T)"),
    _case(
        "introspection",
        "object_subclasses_via_type",
        "o = type(type(1))\nreturn 'ESCAPED' + str(getattr(o, '__subclasses__')(o))",
    ),
    _case("introspection", "function_globals", "return 'ESCAPED' + str(main.__globals__)"),
    _case(
        "introspection", "function_globals_getattr", "return 'ESCAPED' + str(getattr(main, '__globals__'))"
    ),
    _case("introspection", "function_code", "return 'ESCAPED' + str(getattr(main, '__code__').co_consts)"),
    _case(
        "introspection",
        "function_closure",
        "x = 1\ndef f():\n    return x\nreturn 'ESCAPED' + str(f.__closure__)",
    ),
    _case("introspection", "builtins_name", "return 'ESCAPED' + str(__builtins__)"),
    _case("introspection", "vars_call", "return 'ESCAPED' + str(vars())"),
    _case("introspection", "dir_call", "return 'ESCAPED' + str(dir())"),
    _case("introspection", "globals_call", "return 'ESCAPED' + str(globals())"),
    _case("introspection", "locals_call", "return 'ESCAPED' + str(locals())"),
    _case(
        "introspection",
        "super_no_args",
        "class A:\n    def f(self):\n        return super()\nreturn 'ESCAPED' + str(A().f())",
    ),
    _case("introspection", "super_two_args", "s = super(type, int)\nreturn 'ESCAPED' + str(s)"),
    _case("introspection", "hasattr_dunder", "return 'ESCAPED' if hasattr(main, '__globals__') else 'no'"),
    _case(
        "introspection",
        "setattr_dunder",
        "class A:\n    pass\nsetattr(A, '__init_subclass__', 1)\nreturn 'ESCAPED'",
    ),
    _case("introspection", "private_name", "_x = 1\nreturn 'ESCAPED' + str(_x)"),
    _case(
        "introspection",
        "dunder_method_getattribute",
        "class A:\n    def __getattribute__(self, n):\n        return n\nreturn 'ESCAPED' + str(A())",
    ),
    _case(
        "introspection",
        "dunder_method_reduce",
        "class A:\n    def __reduce__(self):\n        return (print, ('x',))\nreturn 'ESCAPED'",
    ),
    _case(
        "introspection",
        "metaclass_keyword",
        "class M(type):\n    pass\nclass A(metaclass=M):\n    pass\nreturn 'ESCAPED'",
    ),
    _case(
        "introspection",
        "exception_obj_attribute",
        "try:\n    (1).nope\nexcept AttributeError as e:\n    return 'ESCAPED' + str(e.obj)",
    ),
    _case("introspection", "class_dict", "class A:\n    pass\nreturn 'ESCAPED' + str(A.__dict__)"),
    _case("introspection", "eval_call", "return 'ESCAPED' + str(eval('1+1'))"),
    _case("introspection", "exec_call", "exec('x = 1')\nreturn 'ESCAPED'"),
    _case("introspection", "compile_call", "return 'ESCAPED' + str(compile('1', 'x', 'eval'))"),
    _case("introspection", "import_dunder", "return 'ESCAPED' + str(__import__('os'))"),
    # --- frames: generators, coroutines, tracebacks --------------------------------------------
    _case(
        "frames",
        "generator_gi_frame",
        "def g():\n    yield 1\nreturn 'ESCAPED' + str(g().gi_frame.f_globals)",
    ),
    _case(
        "frames",
        "generator_gi_frame_getattr",
        "def g():\n    yield 1\nfr = getattr(g(), 'gi' + '_frame')\nreturn 'ESCAPED' + str(fr)",
    ),
    _case(
        "frames",
        "generator_gi_code",
        "def g():\n    yield 1\nreturn 'ESCAPED' + str(getattr(g(), 'gi_code'))",
    ),
    _case(
        "frames",
        "generator_expression_frame",
        "ge = (i for i in [1])\nreturn 'ESCAPED' + str(getattr(ge, 'gi_frame'))",
    ),
    _case(
        "frames",
        "coroutine_cr_frame",
        "async def c():\n    return 1\nco = c()\nco.close()\nf = getattr(co, 'cr_frame')\nreturn 'ESCAPED' + str(f)",
    ),
    _case(
        "frames",
        "coroutine_cr_code",
        "async def c():\n    return 1\nco = c()\nco.close()\nf = getattr(co, 'cr' + '_code')\nreturn 'ESCAPED' + str(f)",
    ),
    _case(
        "frames",
        "async_generator_ag_frame",
        "async def a():\n    yield 1\nreturn 'ESCAPED' + str(getattr(a(), 'ag_frame'))",
    ),
    _case(
        "frames",
        "traceback_tb_frame",
        "try:\n    1 / 0\nexcept Exception as e:\n    return 'ESCAPED' + str(e.__traceback__.tb_frame)",
    ),
    _case(
        "frames",
        "traceback_getattr",
        "try:\n    1 / 0\nexcept Exception as e:\n    tb = getattr(e, '__traceback__')\n    return 'ESCAPED' + str(tb)",
    ),
    _case(
        "frames",
        "exit_traceback_argument",
        """
class C:
    def __enter__(self):
        return self
    def __exit__(self, t, v, tb):
        self.fr = getattr(tb, 'tb_frame')
        return True
c = C()
with c:
    1 / 0
return 'ESCAPED' + str(c.fr)
""",
    ),
    _case(
        "frames",
        "exit_traceback_f_globals",
        """
class C:
    def __enter__(self):
        return self
    def __exit__(self, t, v, tb):
        self.g = tb.tb_frame.f_globals
        return True
c = C()
with c:
    1 / 0
return 'ESCAPED' + str(c.g)
""",
    ),
    _case(
        "frames",
        "exception_context",
        "try:\n    1 / 0\nexcept Exception as e:\n    return 'ESCAPED' + str(e.__context__)",
    ),
    _case(
        "frames",
        "generator_yieldfrom",
        "def g():\n    yield from [1]\nx = g()\nnext(x)\nreturn 'ESCAPED' + str(getattr(x, 'gi_yieldfrom'))",
    ),
    _case(
        "frames",
        "frame_f_back_chain",
        "def g():\n    yield 1\nfr = getattr(getattr(g(), 'gi_frame'), 'f_back')\nreturn 'ESCAPED' + str(fr)",
    ),
    # --- module chains: from an allowed module to os/sys/importlib ------------------------------
    _case(
        "module_chains", "random_os", "return 'ESCAPED' + str(random._os.getcwd())", header="import random"
    ),
    _case(
        "module_chains",
        "random_os_getattr",
        "return 'ESCAPED' + str(getattr(random, '_' + 'os'))",
        header="import random",
    ),
    _case(
        "module_chains",
        "json_decoder_scanner",
        "return 'ESCAPED' + str(json.decoder.scanner)",
        header="import json",
    ),
    _case("module_chains", "json_codecs", "return 'ESCAPED' + str(json.codecs.sys)", header="import json"),
    _case("module_chains", "uuid_os", "return 'ESCAPED' + str(uuid.os.getcwd())", header="import uuid"),
    _case(
        "module_chains", "base64_re_sys", "return 'ESCAPED' + str(base64.re.enum.sys)", header="import base64"
    ),
    _case("module_chains", "typing_sys", "return 'ESCAPED' + str(typing.sys)", header="import typing"),
    _case(
        "module_chains",
        "dataclasses_inspect",
        "return 'ESCAPED' + str(dataclasses.inspect)",
        header="import dataclasses",
    ),
    _case(
        "module_chains",
        "dataclasses_sys",
        "return 'ESCAPED' + str(dataclasses.sys.modules)",
        header="import dataclasses",
    ),
    _case(
        "module_chains",
        "collections_abc_sys",
        "return 'ESCAPED' + str(collections.abc)",
        header="import collections",
    ),
    _case("module_chains", "datetime_sys", "return 'ESCAPED' + str(datetime.sys)", header="import datetime"),
    _case(
        "module_chains", "fractions_sys", "return 'ESCAPED' + str(fractions.sys)", header="import fractions"
    ),
    _case("module_chains", "enum_bltns", "return 'ESCAPED' + str(enum.bltns)", header="import enum"),
    _case(
        "module_chains",
        "from_json_import_decoder",
        "return 'ESCAPED' + str(decoder)",
        header="from json import decoder",
    ),
    _case(
        "module_chains",
        "typing_get_type_hints_eval",
        """
def f(x: "().__class__.__base__.__subclasses__()"):
    pass
return 'ESCAPED' + str(typing.get_type_hints(f))
""",
        header="import typing",
    ),
    _case(
        "module_chains",
        "string_formatter",
        "return 'ESCAPED' + string.Formatter().format('{0.__class__}', 1)",
        header="import string",
    ),
    _case(
        "module_chains",
        "random_class_module",
        "return 'ESCAPED' + str(random.Random.__module__)",
        header="import random",
    ),
    _case("module_chains", "import_os", "return 'ESCAPED' + os.getcwd()", header="import os"),
    _case("module_chains", "import_sys", "return 'ESCAPED' + str(sys.modules)", header="import sys"),
    _case(
        "module_chains",
        "import_subprocess",
        "return 'ESCAPED' + str(subprocess.run)",
        header="import subprocess",
    ),
    _case(
        "module_chains",
        "import_importlib",
        "return 'ESCAPED' + str(importlib.import_module('os'))",
        header="import importlib",
    ),
    _case(
        "module_chains", "import_builtins", "return 'ESCAPED' + str(builtins.open)", header="import builtins"
    ),
    _case("module_chains", "import_ctypes", "return 'ESCAPED' + str(ctypes.CDLL)", header="import ctypes"),
    _case("module_chains", "import_pickle", "return 'ESCAPED' + str(pickle.loads)", header="import pickle"),
    _case("module_chains", "import_gc", "return 'ESCAPED' + str(gc.get_objects()[:1])", header="import gc"),
    _case(
        "module_chains",
        "import_inspect",
        "return 'ESCAPED' + str(inspect.currentframe())",
        header="import inspect",
    ),
    _case(
        "module_chains", "from_os_import", "return 'ESCAPED' + str(system)", header="from os import system"
    ),
    _case("module_chains", "os_path_dotted", "return 'ESCAPED' + str(os.path)", header="import os.path"),
    _case(
        "module_chains",
        "urllib_request",
        "return 'ESCAPED' + str(urllib.request)",
        header="import urllib.request",
    ),
    _case(
        "module_chains",
        "http_client_import",
        "return 'ESCAPED' + str(client)",
        header="from http import client",
    ),
    _case("module_chains", "import_in_function", "import os\nreturn 'ESCAPED' + os.getcwd()"),
    _case(
        "module_chains",
        "functools_update_wrapper_shared",
        """
class Box:
    pass
b = Box()
b.data = 'leak'
functools.update_wrapper(json.dumps, b, assigned=(), updated=('__dict__',))
return 'ESCAPED' + str(json.dumps.data)
""",
        header="import functools\nimport json",
    ),
    _case(
        "module_chains",
        "dataclass_on_shared_class",
        "dataclasses.dataclass(json.JSONEncoder)\nreturn 'ESCAPED'",
        header="import dataclasses\nimport json",
    ),
    _case(
        "module_chains",
        "copy_dispatch_table",
        "return 'ESCAPED' + str(copy.dispatch_table)",
        header="import copy",
    ),
    _case(
        "module_chains",
        "zoneinfo_reset_tzpath",
        "zoneinfo.reset_tzpath(['/etc'])\nreturn 'ESCAPED'",
        header="import zoneinfo",
    ),
    _case("module_chains", "uuid_getnode", "return 'ESCAPED' + str(uuid.getnode())", header="import uuid"),
    # --- asyncio: the real module leads to the event loop and subprocesses ----------------------
    _case(
        "asyncio",
        "create_subprocess_exec",
        "p = await asyncio.create_subprocess_exec('true')\nreturn 'ESCAPED' + str(await p.wait())",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "create_subprocess_shell",
        "p = await asyncio.create_subprocess_shell('true')\nreturn 'ESCAPED' + str(await p.wait())",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "get_running_loop",
        "return 'ESCAPED' + str(asyncio.get_running_loop())",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "get_event_loop",
        "return 'ESCAPED' + str(asyncio.get_event_loop())",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "open_connection",
        "r, w = await asyncio.open_connection('127.0.0.1', 9)\nreturn 'ESCAPED'",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "current_task_loop",
        "return 'ESCAPED' + str(asyncio.current_task().get_loop())",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "gather_future_loop",
        "async def c():\n    return 1\nf = asyncio.gather()\ntry:\n    loop = f.get_loop()\nfinally:\n    if hasattr(f, 'close'):\n        f.close()\nreturn 'ESCAPED' + str(loop)",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "coroutine_cr_await",
        "async def c():\n    await asyncio.sleep(0)\nco = c()\ntry:\n    co.send(None)\n    return 'ESCAPED' + str(getattr(co, 'cr_await'))\nfinally:\n    co.close()",
        header="import asyncio",
        is_async=True,
    ),
    # Driving a coroutine by hand returns what it awaits: the event loop's futures.
    _case(
        "asyncio",
        "coroutine_send_future_loop",
        "c = asyncio.sleep(1)\ntry:\n    return 'ESCAPED' + str(c.send(None).get_loop())\nfinally:\n    c.close()",
        header="import asyncio",
    ),
    _case(
        "asyncio",
        "http_coroutine_send",
        "c = http.get('https://x.org/')\ntry:\n    return 'ESCAPED' + str(c.send(None))\nexcept StopIteration:\n    return 'ESCAPED: ran without the event loop'\nfinally:\n    c.close()",
    ),
    _case(
        "asyncio",
        "async_generator_asend_send",
        "async def ag():\n    await asyncio.sleep(1)\n    yield 1\na = ag()\nw = a.asend(None)\ntry:\n    return 'ESCAPED' + str(w.send(None).get_loop())\nfinally:\n    w.close()",
        header="import asyncio",
    ),
    _case(
        "asyncio",
        "anext_next_drives_generator",
        "async def ag():\n    await asyncio.sleep(1)\n    yield 1\nw = anext(ag())\ntry:\n    return 'ESCAPED' + str(next(w).get_loop())\nfinally:\n    w.close()",
        header="import asyncio",
    ),
    _case(
        "asyncio",
        "aclose_iterated",
        "async def ag():\n    try:\n        yield 1\n    finally:\n        await asyncio.sleep(1)\na = ag()\nw = a.aclose()\ntry:\n    return 'ESCAPED' + str([f.get_loop() for f in w])\nfinally:\n    w.close()",
        header="import asyncio",
    ),
    _case(
        "asyncio",
        "asyncio_subprocess_module",
        "return 'ESCAPED' + str(asyncio.subprocess)",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "asyncio_events",
        "return 'ESCAPED' + str(asyncio.events.get_event_loop_policy())",
        header="import asyncio",
        is_async=True,
    ),
    _case(
        "asyncio",
        "from_asyncio_import_loop",
        "return 'ESCAPED' + str(get_running_loop())",
        header="from asyncio import get_running_loop",
        is_async=True,
    ),
    # --- string tricks: format-string traversal -------------------------------------------------
    _case("string_tricks", "format_class", "return 'ESCAPED' + '{0.__class__}'.format(1)"),
    _case("string_tricks", "format_globals", "return 'ESCAPED' + '{0.__globals__}'.format(main)"),
    _case(
        "string_tricks", "format_dot_globals_positional", "return 'ESCAPED' + '{.__globals__}'.format(main)"
    ),
    _case(
        "string_tricks",
        "format_keyword_traversal",
        "return 'ESCAPED' + '{f.__globals__[__builtins__]}'.format(f=main)",
    ),
    _case(
        "string_tricks",
        "format_map_traversal",
        "return 'ESCAPED' + '{f.__globals__}'.format_map({'f': main})",
    ),
    _case(
        "string_tricks",
        "format_map_dict_subclass",
        "class D(dict):\n    def __missing__(self, k):\n        return main\nreturn 'ESCAPED' + '{x.__globals__}'.format_map(D())",
    ),
    _case("string_tricks", "format_unbound", "return 'ESCAPED' + str.format('{0.__class__.__mro__}', 1)"),
    _case(
        "string_tricks",
        "format_via_getattr",
        "fmt = getattr('{0.__class__}', 'format')\nreturn 'ESCAPED' + fmt(1)",
    ),
    _case(
        "string_tricks",
        "format_gi_frame",
        "def g():\n    yield 1\nreturn 'ESCAPED' + '{0.gi_frame}'.format(g())",
    ),
    _case(
        "string_tricks",
        "format_str_subclass",
        "class S(str):\n    pass\nreturn 'ESCAPED' + S('{0.__class__}').format(1)",
    ),
    _case("string_tricks", "fstring_dunder", "return f'ESCAPED{main.__globals__}'"),
    _case(
        "string_tricks",
        "template_traversal",
        "t = string.Template('$x')\nreturn 'ESCAPED' + t.substitute(x=main.__globals__)",
        header="import string",
    ),
    # --- builtins: getting the real builtins or a dangerous one ---------------------------------
    _case("builtins", "open_file", "with open('/etc/passwd') as f:\n    return 'ESCAPED' + f.readline()"),
    _case("builtins", "breakpoint_call", "breakpoint()\nreturn 'ESCAPED'"),
    _case("builtins", "input_call", "return 'ESCAPED' + input()"),
    _case("builtins", "help_call", "help(1)\nreturn 'ESCAPED'"),
    _case("builtins", "memoryview_call", "return 'ESCAPED' + str(memoryview(b'x'))"),
    _case(
        "builtins",
        "print_file_real_stdout",
        "print('ESCAPED', file=sys.stdout)\nreturn 'ESCAPED'",
        header="import sys",
    ),
    _case("builtins", "builtins_via_getattr_main", "return 'ESCAPED' + str(getattr(main, '__builtins__'))"),
    _case("builtins", "getattr_builtin_module", "return 'ESCAPED' + str(getattr(getattr, '__self__'))"),
    _case("builtins", "print_self", "p = print\nreturn 'ESCAPED' + str(getattr(p, '__self__'))"),
    _case(
        "builtins",
        "facade_copy",
        "import copy\nimport json\nm = {}\ncopy.deepcopy(json, m)\nreturn 'ESCAPED' + str(m)",
    ),
    _case("builtins", "facade_setattr", "json.dumps = None\nreturn 'ESCAPED'", header="import json"),
    _case("builtins", "http_internals", "return 'ESCAPED' + str(getattr(http, '_facade_attributes'))"),
    _case("builtins", "secrets_mutation", "secrets['x'] = 'y'\nreturn 'ESCAPED'"),
    # --- cross-call state: leaving data for the next call ---------------------------------------
    _case(
        "cross_call_state",
        "shared_class_attribute",
        "json.JSONEncoder.stash = 'secret'\nreturn 'ESCAPED'",
        header="import json",
    ),
    _case(
        "cross_call_state",
        "shared_class_setattr",
        "setattr(json.JSONDecoder, 'stash', 'secret')\nreturn 'ESCAPED'",
        header="import json",
    ),
    _case(
        "cross_call_state",
        "calendar_setfirstweekday",
        "calendar.setfirstweekday(3)\nreturn 'ESCAPED'",
        header="import calendar",
    ),
    _case(
        "cross_call_state",
        "decimal_default_context",
        "decimal.DefaultContext.prec = 3\nreturn 'ESCAPED'",
        header="import decimal",
    ),
    _case(
        "cross_call_state",
        "typing_overload_registry",
        "@typing.overload\ndef f(x: int) -> int: ...\nreturn 'ESCAPED' + str(typing.get_overloads(f))",
        header="import typing",
    ),
    _case(
        "cross_call_state",
        "hashlib_shared_set",
        "hashlib.algorithms_available.add('stash')\nreturn 'ESCAPED'",
        header="import hashlib",
    ),
    _case(
        "cross_call_state",
        "urllib_shared_list",
        "urllib.parse.uses_netloc.append('stash')\nreturn 'ESCAPED'",
        header="import urllib.parse",
    ),
    _case(
        "cross_call_state",
        "total_ordering_shared",
        "functools.total_ordering(json.JSONEncoder)\nreturn 'ESCAPED'",
        header="import functools\nimport json",
    ),
    _case(
        "cross_call_state",
        "abc_register_shared",
        "typing.Mapping.register(list)\nreturn 'ESCAPED'",
        header="import typing",
    ),
    _case(
        "cross_call_state",
        "abc_register_via_type",
        "h = (await http.get('https://x.org/')).headers\ntype(h).register(dict)\nreturn 'ESCAPED'",
        is_async=True,
    ),
    _case(
        "introspection",
        "make_dataclass_dunder_namespace",
        "C = dataclasses.make_dataclass('C', ['x'], namespace={'__getattribute__': lambda s, n: n})\nreturn 'ESCAPED'",
        header="import dataclasses",
    ),
    _case(
        "introspection",
        "metaclass_via_type",
        "M = type(type(1))\nC = M('C', (), {'x': 1})\nreturn 'ESCAPED' + str(C)",
    ),
    _case(
        "introspection",
        "typing_type_origin",
        "T = typing.get_origin(typing.Type[int])\nreturn 'ESCAPED' + str(T('C', (), {}))",
        header="import typing",
    ),
    _case(
        "introspection",
        "enum_functional_dunder",
        "E = enum.Enum('E', {'A': 1, '__reduce_ex__': lambda self, p: (len, ('x',))})\nreturn 'ESCAPED' + str(E)",
        header="import enum",
    ),
    _case(
        "introspection",
        "make_dataclass_dunder_field",
        "C = dataclasses.make_dataclass('C', [('__reduce_ex__', object, dataclasses.field(default=len))])\nreturn 'ESCAPED' + str(C)",
        header="import dataclasses",
    ),
    _case(
        "introspection",
        "singledispatch_annotation_eval",
        "@functools.singledispatch\ndef f(x):\n    return 0\ndef g(x: '().__class__.__base__.__subclasses__()'):\n    return 1\ntry:\n    f.register(g)\nexcept TypeError as e:\n    return 'ESCAPED' + str(e)",
        header="import functools",
    ),
    _case(
        "introspection",
        "singledispatchmethod_annotation_eval",
        "class A:\n    @functools.singledispatchmethod\n    def f(self, x):\n        return 0\n    def g(self, x: '().__class__.__base__.__subclasses__()'):\n        return 1\ntry:\n    A.f.register(A.g)\nexcept TypeError as e:\n    return 'ESCAPED' + str(e)",
        header="import functools",
    ),
    _case(
        "string_tricks",
        "format_private_index",
        "class M(dict):\n    pass\nm = M(_secret='x')\nreturn 'ESCAPED' + '{0[_secret]}'.format(m)",
    ),
    _case(
        "builtins",
        "print_capture_via_deepcopy_memo",
        "memo = {}\ncopy.deepcopy(print, memo)\nreturn 'ESCAPED' + str([type(v).__name__ for v in memo.values()])",
        header="import copy",
    ),
    _case(
        "introspection",
        "dunder_assignment_in_class_body",
        "class A:\n    __getattribute__ = lambda self, n: n\nreturn 'ESCAPED'",
    ),
    # --- file reads ------------------------------------------------------------------------------
    _case(
        "file_reads", "open_etc_passwd", "with open('/etc/passwd') as f:\n    return 'ESCAPED' + f.readline()"
    ),
    _case(
        "file_reads",
        "pathlib_read",
        "return 'ESCAPED' + pathlib.Path('/etc/passwd').read_text()",
        header="import pathlib",
    ),
    _case(
        "file_reads",
        "io_open",
        "with io.open('/etc/passwd') as f:\n    return 'ESCAPED' + f.readline()",
        header="import io",
    ),
    _case(
        "file_reads",
        "zoneinfo_traversal",
        "return 'ESCAPED' + str(zoneinfo.ZoneInfo('../../../../etc/passwd'))",
        header="import zoneinfo",
    ),
    _case(
        "file_reads",
        "linecache_via_traceback",
        "import linecache\nreturn 'ESCAPED' + linecache.getline('/etc/passwd', 1)",
    ),
    _case("file_reads", "codecs_open", "import codecs\nreturn 'ESCAPED' + codecs.open('/etc/passwd').read()"),
    # --- environment reads -----------------------------------------------------------------------
    _case("environment_reads", "os_environ", "return 'ESCAPED' + str(dict(os.environ))", header="import os"),
    _case(
        "environment_reads",
        "os_getenv",
        "return 'ESCAPED' + str(getenv('PATH'))",
        header="from os import getenv",
    ),
    _case(
        "environment_reads", "posix_environ", "return 'ESCAPED' + str(posix.environ)", header="import posix"
    ),
    _case(
        "environment_reads",
        "sysconfig_vars",
        "return 'ESCAPED' + str(sysconfig.get_config_vars())",
        header="import sysconfig",
    ),
    _case(
        "environment_reads", "platform_node", "return 'ESCAPED' + platform.node()", header="import platform"
    ),
    _case(
        "environment_reads", "getpass_user", "return 'ESCAPED' + getpass.getuser()", header="import getpass"
    ),
    # --- resource exhaustion: the policy does not stop these; the OS layer must ------------------
    _case("resource_exhaustion", "infinite_loop", "while True:\n    pass\nreturn 'ESCAPED'"),
    _case("resource_exhaustion", "memory_bomb", "x = [0] * (10 ** 10)\nreturn 'ESCAPED' + str(len(x))"),
    _case("resource_exhaustion", "string_bomb", "s = 'x' * (2 ** 34)\nreturn 'ESCAPED' + str(len(s))"),
    _case(
        "resource_exhaustion",
        "time_sleep_forever",
        "time.sleep(10 ** 6)\nreturn 'ESCAPED'",
        header="import time",
    ),
    _case(
        "resource_exhaustion",
        "regex_backtracking",
        "re.match('(a+)+$', 'a' * 64 + 'b')\nreturn 'ESCAPED'",
        header="import re",
    ),
    _case("resource_exhaustion", "big_integer_power", "return 'ESCAPED' + str(len(str(10 ** (10 ** 9))))"),
    _case(
        "resource_exhaustion",
        "deep_recursion",
        "def f(n):\n    return f(n + 1)\nreturn 'ESCAPED' + str(f(0))",
    ),
    _case(
        "resource_exhaustion",
        "asyncio_sleep_forever",
        "await asyncio.sleep(10 ** 6)\nreturn 'ESCAPED'",
        header="import asyncio",
        is_async=True,
    ),
]

# Cases only the process boundary is expected to stop: the policy lets them start (they are
# ordinary Python) and the worker's CPU, memory and wall-clock limits end them. The policy tests
# only check that these compile; they never run them in-process.
OS_LAYER: Final[frozenset[str]] = frozenset(
    name for group, name, _ in ATTACKS if group == "resource_exhaustion" and name != "deep_recursion"
)

# Cases that escape when run in-process with the policy off: the attack itself works. (The rest
# depend on something only a restricted environment has, such as a facade, or touch the host.)
UNRESTRICTED_ESCAPES: Final[frozenset[str]] = frozenset(
    {
        "class_base_subclasses", "getattr_computed_dunder", "getattr_join_dunder", "getattr_chr_dunder",
        "type_mro", "type_mro_getattr", "type_three_args", "object_subclasses_via_type", "function_globals",
        "function_globals_getattr", "function_code", "function_closure", "builtins_name", "vars_call",
        "dir_call", "globals_call", "locals_call", "super_no_args", "super_two_args", "hasattr_dunder",
        "private_name", "class_dict", "eval_call", "exec_call", "compile_call", "import_dunder",
        "generator_gi_frame", "generator_gi_frame_getattr", "generator_gi_code", "generator_expression_frame",
        "coroutine_cr_frame", "coroutine_cr_code", "async_generator_ag_frame", "traceback_tb_frame",
        "traceback_getattr", "exit_traceback_argument", "exit_traceback_f_globals", "exception_context",
        "random_os", "random_os_getattr", "json_decoder_scanner", "uuid_os", "typing_sys",
        "dataclasses_inspect", "dataclasses_sys", "collections_abc_sys", "datetime_sys", "fractions_sys",
        "enum_bltns", "from_json_import_decoder", "typing_get_type_hints_eval", "string_formatter",
        "random_class_module", "import_os", "import_sys", "import_subprocess", "import_importlib",
        "import_builtins", "import_gc", "import_inspect", "from_os_import", "os_path_dotted",
        "import_in_function", "copy_dispatch_table", "get_running_loop", "current_task_loop",
        "gather_future_loop", "coroutine_cr_await", "asyncio_subprocess_module", "from_asyncio_import_loop",
        "format_class", "format_globals", "format_dot_globals_positional", "format_keyword_traversal",
        "format_map_traversal", "format_map_dict_subclass", "format_unbound", "format_via_getattr",
        "format_gi_frame", "format_str_subclass", "fstring_dunder", "memoryview_call",
        "builtins_via_getattr_main", "getattr_builtin_module", "os_environ", "os_getenv", "posix_environ",
        "open_file", "open_etc_passwd", "pathlib_read", "io_open", "frame_f_back_chain",
        "generator_yieldfrom", "json_codecs", "base64_re_sys", "urllib_request", "import_ctypes",
        "import_pickle", "metaclass_via_type", "typing_type_origin", "enum_functional_dunder",
        "make_dataclass_dunder_field", "coroutine_send_future_loop", "http_coroutine_send",
        "async_generator_asend_send", "anext_next_drives_generator", "singledispatch_annotation_eval",
        "singledispatchmethod_annotation_eval", "format_private_index",
    }
)  # fmt: skip
