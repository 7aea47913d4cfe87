"""A long command's progress on its terminal: a bar redrawn in place when a person watches (a
TTY), a plain line per tenth of the work otherwise, so logs and CI show it without noise."""

from typing import TextIO

BAR_WIDTH = 30
STEPS = 10


class TerminalProgress:
    """Called with (stage, done, total), as `db.seed.Progress` is; `close()` when done."""

    def __init__(self, stream: TextIO, label: str, unit: str = "rows") -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.tty = stream.isatty()
        self.step = -1  # the last tenth written as a line
        self.stage = ""
        self.drawn = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        text = f"{fraction:4.0%} {done:,}/{total:,} {self.unit} ({stage})"
        if self.tty:
            filled = round(fraction * BAR_WIDTH)
            bar = "#" * filled + "." * (BAR_WIDTH - filled)
            self._write(f"\r{self.label} [{bar}] {text}\x1b[K")
            self.drawn = True
            return
        step = int(fraction * STEPS)
        # A stage that starts after the last tenth (PostgreSQL's analyse) gets its own line.
        if step > self.step or (step == STEPS and stage != self.stage):
            self._write(f"{self.label}: {text}\n")
            self.step = step
        self.stage = stage

    def close(self) -> None:
        if self.drawn:
            self._write("\n")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
