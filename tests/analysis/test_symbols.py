"""Symbol tables: TraceEvent frame names, IP ranges, unknown addresses."""

from __future__ import annotations

from tools.nettrace.payloads import MethodVerbose, ModuleInfo
from tools.nettrace.symbols import SymbolTable, method_full_name, module_name


def _method(start: int, size: int, ns: str, name: str, sig: str, module: int = 1) -> MethodVerbose:
    return MethodVerbose(1, module, start, size, 0, 0, ns, name, sig)


def test_frame_names_follow_traceevent() -> None:
    """Frames read module!Namespace.Method(args), the module from the IL file name."""
    table = SymbolTable()
    table.add_module(ModuleInfo(1, 2, 0, r"C:\dotnet\System.Private.CoreLib.dll", ""))
    table.add_method(
        _method(0x1000, 0x100, "System.Threading.WaitHandle", "WaitOne", "instance bool  (int32)")
    )
    assert (
        table.frame(0x1000) == "System.Private.CoreLib!System.Threading.WaitHandle.WaitOne(int32)"
    )
    assert table.frame(0x10FF).endswith("WaitOne(int32)")


def test_addresses_outside_every_method_are_unknown() -> None:
    """IPs below, between and after method ranges resolve to ?!?."""
    table = SymbolTable()
    table.add_method(_method(0x1000, 0x10, "A", "M", "void  ()"))
    assert table.frame(0x0FFF) == "?!?"
    assert table.frame(0x1010) == "?!?"
    assert table.frame(0x1008) == "?!A.M()"


def test_frames_are_root_first_and_latest_definition_wins() -> None:
    """A leaf-first IP tuple turns into root-first names; a redefined start replaces the old."""
    table = SymbolTable()
    table.add_module(ModuleInfo(1, 2, 0, "/app/Dekaf.dll", ""))
    table.add_method(_method(0x100, 0x10, "Dekaf.Old", "Gone", "void  ()"))
    table.add_method(_method(0x100, 0x10, "Dekaf.Producer", "Send", "void  ()"))
    table.add_method(_method(0x200, 0x10, "Dekaf.Program", "Main", "void  (class System.String[])"))
    assert table.frames((0x105, 0x205)) == (
        "Dekaf!Dekaf.Program.Main(class System.String[])",
        "Dekaf!Dekaf.Producer.Send()",
    )


def test_name_helpers() -> None:
    """Signature args start at the first parenthesis; module names drop one extension."""
    assert method_full_name("N.T", "M", "instance void  (int32,bool)") == "N.T.M(int32,bool)"
    assert method_full_name("", "M", "void  ()") == "M()"
    assert module_name("/usr/share/dotnet/System.Private.CoreLib.dll") == "System.Private.CoreLib"
    assert module_name("app") == "app"
