"""``rsnn-brian explore [RUN_DIR] [--port N] [--host H] [--no-browser]``: serve the explorer locally.

:func:`register` adds the subcommand to the command line without importing Panel (so that
``rsnn-brian --help`` stays instant); :func:`serve` imports it when the command runs. The
server listens on 127.0.0.1 unless ``--host`` says otherwise, and accepts pages only from
the address it prints.
"""

from __future__ import annotations

import socket
import sys

__all__ = ["register", "cmd_explore", "serve", "make_server", "free_port", "DEFAULT_PORT"]

DEFAULT_PORT = 5006
_INSTALL = "rsnn-brian explore needs Panel: pip install 'rsnn_brian[explore]' (or pip install panel)"


def register(sub) -> None:
    """Add ``explore`` to the subparsers ``sub`` of ``rsnn-brian``."""
    p = sub.add_parser("explore", help="explore neuron and network parameters in the browser (a local Panel app)",
                       description="Serve a page where sliders set the neuron, the network and the input, and "
                       "the trainer's Brian2 model and ST-RSBP engine redraw what they do; with RUN_DIR also "
                       "that run's learning curves, weights and test samples. Ctrl-C stops it.")
    p.add_argument("run_dir", nargs="?", default=None, help="a run directory written by rsnn-brian train (optional)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 serves the network)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.set_defaults(func=cmd_explore)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _origins(host: str, port: int) -> list[str]:
    hosts = {host}
    if host in ("127.0.0.1", "localhost", "::1"):
        hosts |= {"127.0.0.1", "localhost"}
    return sorted(f"[{h}]:{port}" if ":" in h else f"{h}:{port}" for h in hosts)


def make_server(run_dir=None, port: int = DEFAULT_PORT, host: str = "127.0.0.1"):
    """A Bokeh server of the explorer (not started); one :class:`~.layout.Explorer` per page."""
    try:
        import panel as pn
    except ImportError as exc:
        raise ImportError(f"{_INSTALL} ({exc})") from None
    import brian2  # noqa: F401  (Brian2 installs a SIGINT handler on import: only the main thread may)

    from .layout import app
    from .run import open_run
    if run_dir is not None:
        open_run(run_dir)                # a folder that is no run: say so now, not in the page
    if port == 0:
        port = free_port(host)
    return pn.io.server.get_server({"/": lambda: app(run_dir)}, port=port, address=host,
                                   websocket_origin=_origins(host, port), show=False, start=False,
                                   title="rsnn_brian explorer")


def serve(run_dir=None, port: int = DEFAULT_PORT, host: str = "127.0.0.1", browser: bool = True) -> int:
    """Serve until Ctrl-C; prints the address."""
    server = make_server(run_dir, port, host)
    server.start()
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.port}/"
    print(f"rsnn-brian explore: serving {url} (Ctrl-C stops)", flush=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"rsnn-brian explore: listening on {host}: other machines can reach this page", file=sys.stderr)
    if browser:
        import webbrowser
        server.io_loop.add_callback(webbrowser.open, url)
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def cmd_explore(args) -> int:
    return serve(args.run_dir, args.port, args.host, browser=not args.no_browser)
