"""Upstream kinds: one pure adapter per wire protocol, plus the in-process ``echo`` kind."""
