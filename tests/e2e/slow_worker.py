"""`python -m tests.e2e.slow_worker worker ...`: `writer-service worker`, writing through
SlowTemplateWriter. Test-only: the production settings have no hook for this, so the launcher
replaces the provider factory before the CLI builds anything (pool children are forked from here
and inherit it)."""

from __future__ import annotations

import sys

import writer_service.ai
from tests.e2e.slow_provider import slow_text_provider
from writer_service import cli

writer_service.ai.text_provider = slow_text_provider

if __name__ == "__main__":
    raise SystemExit(cli.main(sys.argv[1:]))
