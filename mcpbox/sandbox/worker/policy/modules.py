"""Which modules tool code may import, and which attributes of each it may see.

A plain module object is never handed to tool code: from almost any module a chain of public
attributes reaches ``os`` or ``sys`` (``random._os``, ``json.decoder``, ``uuid.os``...). Each
allowed module is instead shown through a façade exposing only the names listed here. The lists are
explicit on purpose: a name added to a module by a future Python release stays hidden until someone
reviews it.

Names left out deliberately, and why:

- submodules of every package (``json.decoder``, ``html.entities``, ``collections.abc``...);
- anything that mutates process-wide state a later call could observe (``random.seed``/
  ``setstate`` act on a per-call generator instead, see ``facades``; ``calendar.setfirstweekday``;
  ``zoneinfo.reset_tzpath``; ``decimal.DefaultContext``; ``copy.dispatch_table``;
  ``typing.overload``/``get_overloads`` keep functions of earlier calls in a global registry);
- anything that evaluates strings as code (``typing.get_type_hints``, ``string.Formatter``
  traverses attributes unguarded) or hands out ``type`` itself (``typing.Type``, whose origin is
  the three-argument class factory);
- anything that prints to the real stdout, spawns processes or reads the host
  (``calendar.prcal``/``prmonth``/``main``, ``uuid.getnode``/``uuid1``, ``time.tzset``);
- locale switching (``calendar.LocaleTextCalendar``, ``different_locale``).
"""

from __future__ import annotations

from typing import Final

_MATH: Final = (
    "acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh degrees dist e erf erfc "
    "exp exp2 expm1 fabs factorial floor fmod frexp fsum gamma gcd hypot inf isclose isfinite isinf "
    "isnan isqrt lcm ldexp lgamma log log10 log1p log2 modf nan nextafter perm pi pow prod radians "
    "remainder sin sinh sqrt tan tanh tau trunc ulp"
)

MODULE_ATTRIBUTES: Final[dict[str, frozenset[str]]] = {
    name: frozenset(attributes.split())
    for name, attributes in {
        "json": "JSONDecodeError JSONDecoder JSONEncoder dump dumps load loads",
        "base64": (
            "a85decode a85encode b16decode b16encode b32decode b32encode b32hexdecode b32hexencode "
            "b64decode b64encode b85decode b85encode decodebytes encodebytes standard_b64decode "
            "standard_b64encode urlsafe_b64decode urlsafe_b64encode"
        ),
        "binascii": (
            "Error Incomplete a2b_base64 a2b_hex a2b_qp a2b_uu b2a_base64 b2a_hex b2a_qp b2a_uu crc32 "
            "crc_hqx hexlify unhexlify"
        ),
        "html": "escape unescape",
        "datetime": "MAXYEAR MINYEAR UTC date datetime time timedelta timezone tzinfo",
        "calendar": (
            "Calendar FRIDAY HTMLCalendar IllegalMonthError IllegalWeekdayError MONDAY SATURDAY SUNDAY "
            "THURSDAY TUESDAY TextCalendar WEDNESDAY calendar day_abbr day_name firstweekday isleap "
            "leapdays month month_abbr month_name monthcalendar monthrange timegm weekday weekheader"
        ),
        "zoneinfo": "ZoneInfo ZoneInfoNotFoundError available_timezones",
        "math": _MATH,
        "cmath": (
            "acos acosh asin asinh atan atanh cos cosh e exp inf infj isclose isfinite isinf isnan log "
            "log10 nan nanj phase pi polar rect sin sinh sqrt tan tanh tau"
        ),
        "decimal": (
            "Clamped Context ConversionSyntax Decimal DecimalException DecimalTuple DivisionByZero "
            "DivisionImpossible DivisionUndefined FloatOperation Inexact InvalidContext "
            "InvalidOperation MAX_EMAX MAX_PREC MIN_EMIN MIN_ETINY Overflow ROUND_05UP ROUND_CEILING "
            "ROUND_DOWN ROUND_FLOOR ROUND_HALF_DOWN ROUND_HALF_EVEN ROUND_HALF_UP ROUND_UP Rounded "
            "Subnormal Underflow getcontext localcontext setcontext"
        ),
        "fractions": "Fraction",
        "statistics": (
            "NormalDist StatisticsError correlation covariance fmean geometric_mean harmonic_mean "
            "linear_regression mean median median_grouped median_high median_low mode multimode pstdev "
            "pvariance quantiles stdev variance"
        ),
        # Module-level functions are replaced by a per-call generator's methods (see facades).
        "random": (
            "Random SystemRandom betavariate choice choices expovariate gammavariate gauss "
            "getrandbits getstate lognormvariate normalvariate paretovariate randbytes randint random "
            "randrange sample seed setstate shuffle triangular uniform vonmisesvariate weibullvariate"
        ),
        "string": (
            "Template ascii_letters ascii_lowercase ascii_uppercase capwords digits hexdigits "
            "octdigits printable punctuation whitespace"
        ),
        "textwrap": "TextWrapper dedent fill indent shorten wrap",
        "difflib": (
            "Differ HtmlDiff IS_CHARACTER_JUNK IS_LINE_JUNK Match SequenceMatcher context_diff "
            "diff_bytes get_close_matches ndiff restore unified_diff"
        ),
        "re": (
            "A ASCII DOTALL I IGNORECASE L LOCALE M MULTILINE Match NOFLAG Pattern RegexFlag S U UNICODE "
            "VERBOSE X compile error escape findall finditer fullmatch match purge search split sub subn"
        ),
        "urllib.parse": (
            "DefragResult DefragResultBytes ParseResult ParseResultBytes SplitResult SplitResultBytes "
            "parse_qs parse_qsl quote quote_from_bytes quote_plus unquote unquote_plus "
            "unquote_to_bytes urldefrag urlencode urljoin urlparse urlsplit urlunparse urlunsplit"
        ),
        "collections": (
            "ChainMap Counter OrderedDict UserDict UserList UserString defaultdict deque namedtuple"
        ),
        "itertools": (
            "accumulate chain combinations combinations_with_replacement compress count cycle "
            "dropwhile filterfalse groupby islice pairwise permutations product repeat starmap "
            "takewhile tee zip_longest"
        ),
        # update_wrapper, wraps and total_ordering are wrapped so they only modify tool objects.
        "functools": (
            "WRAPPER_ASSIGNMENTS WRAPPER_UPDATES cache cached_property cmp_to_key lru_cache partial "
            "partialmethod reduce singledispatch singledispatchmethod total_ordering update_wrapper wraps"
        ),
        "typing": (
            "AbstractSet Annotated Any AnyStr AsyncContextManager AsyncGenerator AsyncIterable "
            "AsyncIterator Awaitable ByteString Callable ChainMap ClassVar Collection Concatenate "
            "Container ContextManager Coroutine Counter DefaultDict Deque Dict Final FrozenSet "
            "Generator Generic Hashable ItemsView Iterable Iterator KeysView List Literal LiteralString "
            "Mapping MappingView MutableMapping MutableSequence MutableSet NamedTuple Never NewType "
            "NoReturn NotRequired Optional OrderedDict ParamSpec Pattern Protocol Required Reversible "
            "Self Sequence Set Sized SupportsAbs SupportsFloat SupportsIndex SupportsInt SupportsRound "
            "TYPE_CHECKING Text Tuple TypeAlias TypeGuard TypeVar TypedDict Union ValuesView "
            "assert_never cast final get_args get_origin is_typeddict"
        ),
        # dataclass is wrapped so it only modifies classes the tool defined.
        "dataclasses": (
            "Field FrozenInstanceError InitVar KW_ONLY MISSING asdict astuple dataclass field fields "
            "is_dataclass make_dataclass replace"
        ),
        "enum": (
            "CONFORM CONTINUOUS EJECT Enum EnumCheck EnumMeta EnumType Flag FlagBoundary IntEnum "
            "IntFlag KEEP NAMED_FLAGS STRICT StrEnum UNIQUE auto member nonmember property "
            "unique verify"
        ),
        "uuid": (
            "NAMESPACE_DNS NAMESPACE_OID NAMESPACE_URL NAMESPACE_X500 RESERVED_FUTURE "
            "RESERVED_MICROSOFT RESERVED_NCS RFC_4122 SafeUUID UUID uuid3 uuid4 uuid5"
        ),
        "copy": "Error copy deepcopy",
        "hashlib": (
            "algorithms_available algorithms_guaranteed blake2b blake2s md5 new pbkdf2_hmac sha1 "
            "sha224 sha256 sha384 sha3_224 sha3_256 sha3_384 sha3_512 sha512 shake_128 shake_256"
        ),
        "hmac": "HMAC compare_digest digest new",
        "time": (
            "altzone asctime ctime daylight get_clock_info gmtime localtime mktime monotonic "
            "monotonic_ns perf_counter perf_counter_ns process_time process_time_ns sleep strftime "
            "strptime struct_time thread_time thread_time_ns time time_ns timezone tzname"
        ),
        # A curated façade of coroutine helpers; the real asyncio module leads to the event loop.
        "asyncio": "sleep gather wait_for TimeoutError",
    }.items()
}

DEFAULT_MODULES: Final[frozenset[str]] = frozenset(MODULE_ATTRIBUTES)

# Modules no allowlist may ever name: each is a direct route to the host or the interpreter.
NEVER_ALLOWED: Final[frozenset[str]] = frozenset(
    {
        "os", "sys", "subprocess", "socket", "ctypes", "gc", "inspect", "importlib", "pickle",
        "marshal", "builtins", "threading", "multiprocessing", "io", "posix", "signal", "shutil",
        "pathlib", "_thread", "types", "code", "codeop", "runpy", "pty", "fcntl", "resource",
        "mmap", "select", "selectors", "faulthandler", "sysconfig", "site", "tracemalloc",
    }
)  # fmt: skip


def is_never_allowed(module: str) -> bool:
    """True when ``module`` or one of its parent packages is on the hard deny list."""
    parts = module.split(".")
    return any(".".join(parts[: index + 1]) in NEVER_ALLOWED for index in range(len(parts)))
