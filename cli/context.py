"""Shared CLI plumbing: the clock, settings, the opened ledger, output helpers.

Nothing here loads the database stack at import time: ``ledger --help`` stays fast. The
ledger is opened on first use by a command, and closed when the command ends.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ledger.errors import BadInput

if TYPE_CHECKING:
    from cli.remote.ledger import RemoteLedger
    from ledger.bootstrap import Ledger
    from ledger.settings import Settings
    from ledger.views import NoteContent


T = TypeVar("T")


def now() -> datetime:
    """The only clock: the CLI reads it and passes it down as ``at=``."""
    return datetime.now(UTC)


def os_user() -> str:
    """The operating-system user running this command, read once here: the name of the
    effective uid (``USER`` and ``LOGNAME`` are not believed: anyone can set them), else
    ``uid:N`` for a uid without a name. Where there are no uids (Windows), the login name."""
    import os  # noqa: PLC0415

    try:
        import pwd  # noqa: PLC0415
    except ImportError:  # pragma: no cover (no uids)
        import getpass  # noqa: PLC0415

        return getpass.getuser()
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"
    return name if 0 < len(name) <= MAX_OS_USER and name.isprintable() else f"uid:{uid}"


MAX_OS_USER = 64


class State:
    """What a command runs against: in local mode the stores, opened on first use with the
    keys; in remote mode (a server given) the HTTP service, called with the token."""

    def __init__(self, data_dir: str | None, server: str | None = None,
                 token_file: str | None = None) -> None:
        self.data_dir = data_dir
        self.server = server
        self.token_file = token_file
        self._settings: Settings | None = None
        self._ledger: Ledger | None = None
        self._remote: RemoteLedger | None = None

    @property
    def remote(self) -> bool:
        return self.server is not None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from ledger.settings import load_settings  # noqa: PLC0415

            self._settings = load_settings(self.data_dir)
        return self._settings

    @property
    def ledger(self) -> Ledger:
        """Both stores and their services, opened on first use (the sealed store only
        when a service needs it). In remote mode, the same services over HTTP: the same
        attributes and method signatures, and the same records returned."""
        if self.remote:
            return cast("Ledger", self.remote_ledger)
        if self._ledger is None:
            from ledger.bootstrap import open_ledger  # noqa: PLC0415

            self._ledger = open_ledger(self.settings)
        return self._ledger

    @property
    def remote_ledger(self) -> RemoteLedger:
        """The HTTP service as the commands use the ledger (remote mode only)."""
        assert self.server is not None
        if self._remote is None:
            from cli.remote.connection import Connection  # noqa: PLC0415 (remote mode only)
            from cli.remote.ledger import RemoteLedger  # noqa: PLC0415
            from cli.remote.settings import remote_settings  # noqa: PLC0415

            self._remote = RemoteLedger(Connection(remote_settings(self.server,
                                                                   self.token_file)))
        return self._remote

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        if self._remote is not None:
            self._remote.close()
            self._remote = None


pass_state = click.make_pass_decorator(State)

def valid_staff_id(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Option callback: a malformed staff id stops at the edge (the services check again)."""
    from ledger.identifiers import check_staff_id  # noqa: PLC0415

    return None if value is None else check_staff_id(value, _flag(param))


def valid_client_ref(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Option callback: a malformed client id stops at the edge (the services check again)."""
    from ledger.identifiers import check_client_ref  # noqa: PLC0415

    return None if value is None else check_client_ref(value, _flag(param))


def _flag(param: click.Parameter) -> str:
    return param.opts[0] if isinstance(param, click.Option) else (param.metavar or "the id")


json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


# ----- the two modes: who acts, and what runs where -------------------------------------------

REMOTE_HINT = "unset LEDGER_SERVER (and drop --server) to run it where the keys are"


class ActorOption(click.Option):
    """``--as STAFF``: who acts, as claimed on this host. In local mode it is required
    (``required_locally``; ``staff add`` may leave it out for the first staff member); in
    remote mode it is refused, because the server knows who calls from the token. Both
    are decided here, in the option's callback, and nowhere else."""

    def __init__(self, *args: Any, required_locally: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, callback=_actor, **kwargs)
        self.required_locally = required_locally


def _actor(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    state = ctx.find_object(State)
    if state is not None and state.remote:
        if value is not None:
            raise click.UsageError("--as is not taken in remote mode: the server knows who "
                                   "you are from your token", ctx)
        return None  # the remote ledger's services take ``by`` and do not send it
    if value is None and getattr(param, "required_locally", False):
        raise click.MissingParameter(ctx=ctx, param=param)
    return valid_staff_id(ctx, param, value)


as_option = click.option(
    "--as", "actor", cls=ActorOption, metavar="STAFF",
    help="Staff id of the person acting (required in local mode; refused in remote mode, "
         "where your token says who you are).")


class LocalCommand(click.Command):
    """A command that runs only in local mode (it needs the keys or the stores on this
    host): refused in remote mode with one line saying why, before anything else."""

    def __init__(self, *args: Any, local_reason: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_reason = local_reason

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not _asks_for_help(ctx, args):
            refuse_remote_mode(ctx, self.local_reason)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        refuse_remote_mode(ctx, self.local_reason)
        return super().invoke(ctx)


class LocalGroup(click.Group):
    """A group whose commands all run only in local mode (see :class:`LocalCommand`)."""

    def __init__(self, *args: Any, local_reason: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.local_reason = local_reason

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not _asks_for_help(ctx, args):
            refuse_remote_mode(ctx, self.local_reason)
        return super().parse_args(ctx, args)


def refuse_remote_mode(ctx: click.Context, reason: str) -> None:
    state = ctx.find_object(State)
    if state is not None and state.remote:
        raise click.UsageError(f"{ctx.command_path} runs only in local mode: {reason}; "
                               f"{REMOTE_HINT}", ctx)


def _asks_for_help(ctx: click.Context, args: list[str]) -> bool:
    return any(arg in ctx.help_option_names for arg in args)


request_id_option = click.option(
    "--request-id", metavar="ID",
    help="Your id for this request (1-128 letters, digits, . _ : -; a UUID will do): a "
         "retry with the same id returns the first result and records nothing more.")


def escaped(record: T, *fields: str) -> T:
    """A copy of a view record with the text ``fields`` escaped for one line of output
    (free text and recorded values: they may hold newlines or control characters)."""
    from dataclasses import replace  # noqa: PLC0415

    from ledger.display import escape  # noqa: PLC0415

    return replace(record, **{name: escape(value) for name in fields  # type: ignore[type-var]
                              if isinstance(value := getattr(record, name), str)})


def output_directory(out: str, *, new: bool) -> Path:
    """``--out DIR`` checked before anything is done: ``new``, it must not exist yet;
    otherwise it may exist but must be a directory; and the nearest directory that
    exists above it must be one this process may write in. One line of bad input if not
    (the command still turns an OS error met later into one line)."""
    from ledger.display import escape  # noqa: PLC0415

    path = Path(out)
    try:
        if new and (path.exists() or path.is_symlink()):
            raise BadInput(f"{escape(out)} already exists; give a new directory")
        if path.exists() and not path.is_dir():
            raise BadInput(f"cannot write {escape(out)}: it is not a directory")
        above = path.absolute()
        while not above.exists():
            above = above.parent
        _writable_directory(out, above)
    except OSError as e:  # a name too long, a loop of links
        raise cannot_write(out, e) from None
    return path


def output_file(out: str) -> Path:
    """``--out FILE`` / ``--html FILE`` checked before anything is done: a new file in a
    directory that exists and may be written (one line of bad input if not)."""
    from ledger.display import escape  # noqa: PLC0415

    path = Path(out)
    try:
        if path.exists() or path.is_symlink():
            raise BadInput(f"{escape(out)} already exists; give a new file")
        parent = path.absolute().parent
        if not parent.exists():
            raise BadInput(f"cannot write {escape(out)}: its directory does not exist")
        _writable_directory(out, parent)
    except OSError as e:
        raise cannot_write(out, e) from None
    return path


def _writable_directory(out: str, directory: Path) -> None:
    import os  # noqa: PLC0415

    from ledger.display import escape  # noqa: PLC0415

    where = escape(str(directory))
    if not directory.is_dir():
        raise BadInput(f"cannot write {escape(out)}: {where} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write {escape(out)}: {where} is not writable")


def cannot_write(out: str, error: OSError) -> BadInput:
    from ledger.display import escape  # noqa: PLC0415

    return BadInput(f"cannot write {escape(out)}: {error.strerror or type(error).__name__}")


def json_default(value: Any) -> Any:
    from dataclasses import asdict, is_dataclass  # noqa: PLC0415 (loaded when used)
    from uuid import UUID  # noqa: PLC0415

    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)  # a view record nested in another (a release's notes)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(type(value).__name__)


def emit_json(value: Any) -> None:
    import json  # noqa: PLC0415
    from dataclasses import asdict, is_dataclass  # noqa: PLC0415

    if is_dataclass(value) and not isinstance(value, type):
        value = asdict(value)
    elif isinstance(value, list):
        value = [asdict(v) if is_dataclass(v) and not isinstance(v, type) else v for v in value]
    click.echo(json.dumps(value, default=json_default, sort_keys=True))


def read_text(file: str | None) -> str:
    """The note text from ``file`` or stdin: at most the largest note plus one byte is
    read, so an endless input is refused, never read to the end."""
    from ledger.aggregates.note import MAX_NOTE_BYTES  # noqa: PLC0415
    from ledger.limits import read_file, read_stream, utf8  # noqa: PLC0415

    if file is not None:
        return utf8(read_file(Path(file), MAX_NOTE_BYTES, f"note text {file}"), file)
    if sys.stdin is None or sys.stdin.isatty():
        raise BadInput("give --file FILE or pipe the note text on stdin")
    return utf8(read_stream(sys.stdin.buffer, MAX_NOTE_BYTES, "note text"), "note text")


def written(written_at: datetime, original_written_on: str | None) -> str:
    """When a note was written: for a note written here, the chain time; for an imported
    one, the day it was written in the earlier system and, apart, when the ledger
    recorded it (the chain time)."""
    if original_written_on is None:
        return f"written {written_at.isoformat()}"
    return (f"written {original_written_on} (original, imported; recorded "
            f"{written_at.isoformat()})")


def echo_note(content: NoteContent) -> None:
    """A note's header lines (escaped: ids and the amendment reason were typed), then its
    text as written."""
    content = escaped(content, "author_id", "amendment_reason", "session_date")
    click.echo(f"note {content.note_id}  version {content.version} of {content.versions}")
    first = content.version == 1
    click.echo(f"author {content.author_id}  "
               + written(content.written_at, content.original_written_on if first else None)
               + (f"  session {content.session_date}" if content.session_date else ""))
    if content.amendment_reason:
        click.echo(f"amendment reason: {content.amendment_reason}")
    click.echo("")
    click.echo(content.text)
