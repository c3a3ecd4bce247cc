"""Start the writer service with the settings from the environment (same as `writer-service serve`)."""

from writer_service.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["serve"]))
