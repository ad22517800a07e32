"""What this CPU does natively, for options whose speed depends on it (bf16 is fast only with bf16 instructions)."""

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_bf16_support(cpuinfo: Path = CPUINFO) -> tuple[bool, str] | None:
    """Whether the CPU has native bf16 instructions, and its widest vector extension ("AVX2", "AVX-512", ...);
    None where the CPU cannot be read (not Linux)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    if not flags:
        return None
    widest = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "AVX" if "avx" in flags else "SSE"
    return any(flag in flags for flag in BF16_FLAGS), widest


def bf16_cpu_warning(precision: str, trains_on_cpu: bool) -> str | None:
    """The one-line warning for bf16 on a CPU without native bf16, or None where it does not apply."""
    if not trains_on_cpu or not str(precision).startswith("bf16"):
        return None
    support = cpu_bf16_support()
    if support is None or support[0]:
        return None
    return (f"warning: --precision {precision} on this CPU (no native bf16: {support[1]} only) ran 13x slower than "
            "fp32 in optlab's measurement; drop --precision for fp32")
