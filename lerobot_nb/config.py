"""One frozen dataclass per step; this module turns it into CLI flags and reads notebook parameters.

A field `max_staleness_s` is the flag `--max-staleness-s`, the papermill parameter
`max_staleness_s` and the keyword `max_staleness_s=`: one name everywhere. Help text lives in
`field(metadata={"help": ...})`.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from lerobot_nb.errors import LerobotNbError

__all__ = [
    "add_config_arguments",
    "as_flags",
    "config_from_args",
    "config_from_mapping",
    "flag_name",
    "given_args",
    "help_field",
    "read_yaml_mapping",
    "warn_deprecated",
    "yaml_mapping",
]


def yaml_mapping(text: str, *, file: str | Path, what: str) -> dict[str, Any]:
    """The mapping a YAML config text holds (empty text = `{}`); `what` says what it must map, for
    the one-line LerobotNbError naming `file` when it is not valid YAML or not a mapping."""
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LerobotNbError(f"not valid YAML ({' '.join(str(exc).split())})", file=file) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise LerobotNbError(f"{what}, not a {type(data).__name__}", file=file)
    return data


def read_yaml_mapping(path: str | Path, *, what: str, kind: str) -> dict[str, Any]:
    """`yaml_mapping` of the file at `path`; `kind` names the file in the error when it cannot be read."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise LerobotNbError(f"cannot read the {kind} file ({exc.strerror or exc})", file=path) from None
    return yaml_mapping(text, file=path, what=what)


def help_field(default: Any, help: str, **kwargs: Any) -> Any:
    """A dataclass field with a default and a help text (tuples and other mutables are fine).

    `deprecated="NEW"` marks an old name kept as an alias of parameter `NEW`: its flag is still
    accepted but not listed in `--help` (no flag at all when it moved to another config under
    the same name); the config's `__post_init__` moves the value to the new name and warns.
    """
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})


def warn_deprecated(old: str, new: str) -> None:
    """One DeprecationWarning for parameter `old`, renamed `new`."""
    import warnings

    warnings.warn(f"parameter {old} is deprecated: use {new}", DeprecationWarning, stacklevel=4)


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def flag_name(name: str, prefix: str = "") -> str:
    """The CLI flag of config field `name`: `max_staleness_s` -> `--max-staleness-s`."""
    return "--" + (prefix + name).replace("_", "-")


def as_flags(values: Mapping[str, Any]) -> str:
    """Shell-quoted flags that give these field values (`{"fps": 15}` -> `--fps 15`).

    None and () are left out (the field's default then applies), "" is given as `--name ''`
    (explicitly nothing); a tuple repeats its flag; a bool is `--name` / `--no-name`.
    """
    parts: list[str] = []
    for name, value in values.items():
        if value is None or value == ():
            continue
        if isinstance(value, bool):
            parts.append(flag_name(name) if value else flag_name("no_" + name))
            continue
        for item in value if isinstance(value, tuple | list) else (value,):
            parts.append(f"{flag_name(name)} {shlex.quote(str(item))}")
    return " ".join(parts)


def add_config_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type[Any],
    *,
    prefix: str = "",
    skip: tuple[str, ...] = (),
) -> None:
    """Add one flag per field of the dataclass `cls`; defaults stay in the dataclass.

    Every flag defaults to `argparse.SUPPRESS`, so `config_from_args` only sees what the user
    typed and the dataclass default applies otherwise.
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        # A field that moved to another config under the same name gets its flag from there.
        if f.name in skip or not f.init or f.metadata.get("deprecated") == f.name:
            continue
        tp, _optional = _strip_optional(hints[f.name])
        origin = get_origin(tp)
        kwargs: dict[str, Any] = {
            "default": argparse.SUPPRESS,
            "dest": prefix + f.name,
            "help": f.metadata.get("help", ""),
        }
        default = f.default if f.default is not dataclasses.MISSING else None
        if default not in (None, (), "") and kwargs["help"]:
            kwargs["help"] += f" (default: {default})"
        if tp is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif origin is Literal:
            kwargs["choices"] = list(get_args(tp))
        elif origin is tuple:
            item = get_args(tp)[0] if get_args(tp) else str
            kwargs["action"] = "append"
            kwargs["type"] = item if item in (int, float) else str
            kwargs["metavar"] = f.metadata.get("metavar", f.name.upper())
        elif tp in (int, float, str):
            kwargs["type"] = tp
        elif tp is Path:
            kwargs["type"] = Path
        else:  # mappings and other structured fields are API/notebook only
            continue
        if "metavar" in f.metadata and "metavar" not in kwargs:
            kwargs["metavar"] = f.metadata["metavar"]
        if "const" in f.metadata:  # `--flag` alone means this value, `--flag VALUE` any choice
            kwargs.update(nargs="?", const=f.metadata["const"])
        if f.metadata.get("deprecated"):
            kwargs["help"] = argparse.SUPPRESS
        parser.add_argument(flag_name(f.name, prefix), **kwargs)


def given_args(cls: type[Any], args: argparse.Namespace, *, prefix: str = "") -> dict[str, Any]:
    """The fields of `cls` whose flags the user typed (`add_config_arguments` suppresses the rest)."""
    return {
        f.name: getattr(args, prefix + f.name)
        for f in dataclasses.fields(cls)
        # a field that moved to another config under the same name: that config's flag, not this one's
        if hasattr(args, prefix + f.name) and f.metadata.get("deprecated") != f.name
    }


def config_from_args[C](cls: type[C], args: argparse.Namespace, *, prefix: str = "", **overrides: Any) -> C:
    """Build `cls` from the flags the user gave (see `add_config_arguments`) plus `overrides`."""
    return config_from_mapping(cls, {**given_args(cls, args, prefix=prefix), **overrides})


def _coerce(name: str, tp: Any, value: Any) -> Any:
    tp, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise LerobotNbError(f"parameter {name} must not be empty")
    origin = get_origin(tp)
    if origin is tuple:
        if isinstance(value, str):
            value = [value]
        args = get_args(tp)
        item = args[0] if args else Any
        return tuple(_coerce(name, item, v) for v in value) if item is not Any else tuple(value)
    if origin is Literal:
        if value not in get_args(tp):
            choices = ", ".join(map(str, get_args(tp)))
            raise LerobotNbError(f"parameter {name}={value!r} is not one of {choices}")
        return value
    if tp is Path:
        return Path(value)
    if tp is bool:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    if tp is int:
        if isinstance(value, float) and not value.is_integer():
            raise LerobotNbError(f"parameter {name}={value!r} must be a whole number")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise LerobotNbError(f"parameter {name}={value!r} must be a whole number") from None
    if tp is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise LerobotNbError(f"parameter {name}={value!r} must be a number") from None
    if tp is str:
        return str(value)
    if get_origin(tp) in (dict, Mapping) or tp in (dict, Mapping):
        return dict(value)
    return value


def config_from_mapping[C](cls: type[C], values: Mapping[str, Any], *, ignore_unknown: bool = False) -> C:
    """Build `cls` from a mapping (notebook parameters, YAML); values are coerced to field types.

    Unknown keys are an error naming them, unless `ignore_unknown` (a notebook passes all its
    parameters to several configs).
    """
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown and not ignore_unknown:
        raise LerobotNbError(
            f"unknown parameter(s) {', '.join(unknown)} for {cls.__name__}; known: {', '.join(sorted(names))}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs = {k: _coerce(k, hints[k], _on_off(fields[k], v)) for k, v in values.items() if k in names}
    return cls(**kwargs)


def _on_off(f: dataclasses.Field[Any], value: Any) -> Any:
    """A field whose flag takes an optional value (`const`) also takes True (= const) / False (= default)."""
    if "const" in f.metadata and isinstance(value, bool):
        return f.metadata["const"] if value else f.default
    return value
