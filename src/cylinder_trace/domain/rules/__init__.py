"""The rules catalogue: each rule a code, a severity, two messages, and a small pure check."""
