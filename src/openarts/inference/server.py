"""The model server a service replica runs.

    python -m openarts.inference.server --model-dir DIR --port PORT
        [--host 127.0.0.1] [--model-name serve] [--timeout-s 60]
        [--predict-in thread|loop] [--keep-alive-s 200]

What the platform can rely on:

- **Readiness:** the model is loaded before the port is bound, so the port answering
  means the replica is ready. A package that cannot be loaded exits with status 1 and the
  reason in the log, without ever binding.
- **Routes:** ``GET /health`` answers 200 ``{"status": "OK"}``, also while a prediction
  runs; ``POST /`` and every ``apis[].method``/``url`` of ``config.json`` run a prediction.
- **Errors:** ``{"error_code", "error_msg", "erno", "msg"}`` with the codes listed in
  ``errors``; the process stays up after any failed request.
- **Time limit:** with ``--predict-in thread`` (the default) a prediction that runs past
  ``--timeout-s`` is answered 504. With ``--predict-in loop`` predictions run on the event
  loop, no limit is enforced here and the gateway's own timeout applies.
- **Connections:** keep-alive connections stay open for ``--keep-alive-s`` idle seconds
  (ModelArts asks for 200) so a pooling gateway can reuse them.
- **Signals:** SIGTERM (or SIGINT) stops accepting, lets in-flight requests finish and
  exits 0; during model loading it exits 0 at once.
- **Logs:** one line per event on stdout; no access log.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn

from openarts.inference.asgi_app import InferenceApp, Runner
from openarts.inference.builtin_handlers import builtin_handler
from openarts.inference.dispatch import Dispatcher, Predictor
from openarts.inference.errors import Response, describe
from openarts.inference.package_config import PackageConfig, read_package_config
from openarts.inference.prediction_thread import PredictionThread
from openarts.inference.user_service import SERVICE_FILE, load_user_service

logger = logging.getLogger("openarts.inference")

DEFAULT_MODEL_NAME = "serve"
# Beyond the prediction limit, for the response to be written during a graceful stop.
SHUTDOWN_GRACE_S = 5.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m openarts.inference.server",
        description="Serve a ModelArts model package over HTTP.",
    )
    parser.add_argument("--model-dir", required=True, type=Path, help="the model package")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", type=int)
    where.add_argument(
        "--socket", help="a Unix socket to listen on instead (a replica in a sandbox)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (only this one)")
    parser.add_argument(
        "--model-name",
        default=DEFAULT_MODEL_NAME,
        help="the model_name deep-learning services are constructed with",
    )
    parser.add_argument(
        "--timeout-s", type=float, default=60.0, help="504 after this long (thread mode)"
    )
    parser.add_argument(
        "--predict-in",
        choices=("thread", "loop"),
        default="thread",
        help="run predictions on one worker thread (default) or inline on the event loop",
    )
    parser.add_argument("--keep-alive-s", type=int, default=200, help="idle keep-alive limit")
    return parser.parse_args(argv)


def load_predictor(model_dir: Path, model_name: str, config: PackageConfig) -> Predictor:
    if (model_dir / SERVICE_FILE).is_file():
        return load_user_service(model_dir, model_name)
    return builtin_handler(model_dir, config)


def make_runner(dispatcher: Dispatcher, predict_in: str, timeout_s: float) -> Runner:
    if predict_in == "thread":
        return PredictionThread(dispatcher.handle, timeout_s).run
    handle = dispatcher.handle

    async def run_inline(content_type: bytes | None, body: bytes, query: bytes) -> Response:
        return handle(content_type, body, query)

    return run_inline


def configure_logging() -> None:
    # User code prints too; without line buffering a pipe would hold its lines back.
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stdout,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _exit_during_load(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _after_shutdown(signum: int, frame: FrameType | None) -> None:
    # uvicorn re-raises the stop signal once it has shut down gracefully; landing here
    # instead of the default handler lets the process exit 0.
    logger.info("stopped by signal %d", signum)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    model_dir: Path = args.model_dir.resolve()
    signal.signal(signal.SIGTERM, _exit_during_load)
    signal.signal(signal.SIGINT, _exit_during_load)
    try:
        if not model_dir.is_dir():
            raise FileNotFoundError(f"the model directory {model_dir} does not exist")
        config = read_package_config(model_dir)
        predictor = load_predictor(model_dir, args.model_name, config)
    except Exception as exc:
        logger.error("cannot serve the model in %s: %s", model_dir, describe(exc), exc_info=exc)
        return 1
    routes = ", ".join(f"{method} {path}" for method, path in config.routes)
    logger.info("model loaded from %s; serving %s", model_dir, routes)
    runner = make_runner(Dispatcher(predictor), args.predict_in, args.timeout_s)
    server = uvicorn.Server(
        uvicorn.Config(
            InferenceApp(config.routes, runner),
            host=args.host,
            port=args.port or 0,
            uds=args.socket,
            loop="auto",
            http="auto",
            ws="none",
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_keep_alive=args.keep_alive_s,
            timeout_graceful_shutdown=int(args.timeout_s + SHUTDOWN_GRACE_S),
        )
    )
    signal.signal(signal.SIGTERM, _after_shutdown)
    signal.signal(signal.SIGINT, _after_shutdown)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
