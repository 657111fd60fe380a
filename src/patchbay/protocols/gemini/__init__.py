"""Gemini client protocol: ``generateContent`` and ``streamGenerateContent``."""
