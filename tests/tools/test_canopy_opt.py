"""canopy-opt's additions to xdsl-opt: diagnostics matching, pass failures, reports,
pipelines, plugins, printing and the ONNX frontend plumbing.

The lit tests under tests/filecheck/tools/ run the tool end to end; these check the
pieces directly, with their edge cases.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import DenseIntOrFPElementsAttr, ModuleOp, TensorType, i32
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import ParseError

from canopy_mlir.dialects import make_context
from canopy_mlir.tools import opt
from canopy_mlir.tools.diagnostics import (
    DiagnosticMismatch,
    DirectiveError,
    ExpectedDiagnostic,
    LocatingParser,
    Severity,
    SourceDiagnostic,
    SourceMap,
    find_failing_op,
    format_mismatch,
    match_diagnostics,
    parse_error_diagnostics,
    parse_expected_diagnostics,
)
from canopy_mlir.tools.instrumentation import (
    Instrumentation,
    PassFailure,
    PassRunner,
    ReproducerError,
    Timer,
    dump_header,
    reproducer_arguments,
    reproducer_text,
)
from canopy_mlir.tools.pipelines import (
    NAMED_PIPELINES,
    NamedPipeline,
    PipelineError,
    PipelineOption,
    expand_pipeline,
    instantiate_passes,
    pipeline_spec,
    register_pipeline,
)
from canopy_mlir.tools.plugins import PluginError, PluginRegistry, load_plugins
from canopy_mlir.tools.printing import (
    ELIDED_VALUE,
    dense_is_splat,
    elide_threshold,
    eliding_constants_larger_than,
    print_ir,
    should_elide,
    should_elide_dense,
)
from canopy_mlir.transforms import (
    PassStatistics,
    collecting_statistics,
    record_statistic,
)

ROOT = Path(__file__).resolve().parents[2]
FAULTY = str(ROOT / "tests" / "tools" / "faulty_passes.py")
DEMO = str(ROOT / "examples" / "plugin" / "demo_plugin.py")

E, W, R, N = Severity.ERROR, Severity.WARNING, Severity.REMARK, Severity.NOTE


def expected_at(text: str, line_offset: int = 0) -> list[tuple[Severity, str, int | None]]:
    return [(e.severity, e.text, e.line) for e in parse_expected_diagnostics(text, line_offset)]


# ------------------------------------------------------------ directive parsing
def test_directive_forms_name_their_lines():
    text = "\n".join(  # noqa: FLY002 - one source line per list item
        [
            "op0 // expected-error {{same line}}",  # 1
            "// expected-warning@+2 {{two down}}",  # 2
            "op1",  # 3
            "op2",  # 4
            "// expected-remark@-1 {{one up}}",  # 5
            "// expected-note@above {{closest plain line above}}",  # 6
            "// expected-error@below {{first}}",  # 7
            "// expected-error@below {{second}}",  # 8
            "op3",  # 9
            "// expected-error@unknown {{nowhere}}",  # 10
        ]
    )
    assert expected_at(text) == [
        (E, "same line", 1),
        (W, "two down", 4),
        (R, "one up", 4),
        (N, "closest plain line above", 4),
        (E, "first", 9),
        (E, "second", 9),
        (E, "nowhere", None),
    ]


def test_directive_lines_are_shifted_by_the_chunk_offset():
    [directive] = parse_expected_diagnostics("x\n// expected-error@-1 {{m}}", line_offset=10)
    assert (directive.line, directive.directive_line, directive.directive_column) == (11, 12, 4)


def test_prose_mentioning_directives_is_not_a_directive():
    assert expected_at("// lines with expected-error markers are checked\nop") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("// expected-error {{unclosed }", "line 1: malformed directive"),
        ("// expected-error@+x {{m}}", "line 1: malformed directive"),
        ("op\n// expected-error@+5 {{m}}", "line 2: '@+5' points outside the input (line 7)"),
        ("// expected-error@-1 {{m}}", "line 1: '@-1' points outside the input (line 0)"),
        ("// expected-error@above {{m}}", "line 1: '@above' with no line above it"),
        ("op\n// expected-error@below {{m}}", "line 2: '@below' with no line below it"),
        ("// expected-error-re {{a{{(}}b}}", "line 1: invalid regex"),
    ],
)
def test_malformed_directives_name_their_line(text, message):
    with pytest.raises(DirectiveError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        parse_expected_diagnostics(text)


def test_message_may_contain_braces_and_end_with_them():
    [directive] = parse_expected_diagnostics("// expected-error {{got {'a': 1}}}")
    assert directive.text == "got {'a': 1}"
    assert directive.matches("x: got {'a': 1}")


def test_regex_directives_escape_the_literal_parts():
    [directive] = parse_expected_diagnostics("// expected-error-re {{a.b {{[0-9]+}} (c)}}")
    assert directive.matches("a.b 123 (c) and more")
    assert not directive.matches("axb 123 (c)")  # '.' is literal outside {{...}}
    assert not directive.matches("a.b x (c)")


# ---------------------------------------------------------------------- matching
def diag(severity: Severity, message: str, line: int | None) -> SourceDiagnostic:
    return SourceDiagnostic(severity, message, line, None if line is None else 1)


def expect(severity: Severity, text: str, line: int | None) -> ExpectedDiagnostic:
    return ExpectedDiagnostic(severity, text, line, directive_line=line or 1, directive_column=4)


def test_a_diagnostic_matches_a_substring_on_its_line_only():
    expected = [expect(E, "does not fit", 3)]
    assert not match_diagnostics(expected, [diag(E, "x = 9 does not fit its field", 3)])
    mismatch = match_diagnostics(expected, [diag(E, "x = 9 does not fit its field", 4)])
    assert mismatch.missing == expected
    assert mismatch.unexpected == [diag(E, "x = 9 does not fit its field", 4)]


def test_one_directive_covers_repeats_but_n_directives_need_n_diagnostics():
    assert not match_diagnostics([expect(R, "c", 1)], [diag(R, "c", 1)] * 3)
    mismatch = match_diagnostics([expect(R, "c", 1)] * 2, [diag(R, "c", 1)])
    assert len(mismatch.missing) == 1 and not mismatch.unexpected


def test_equal_diagnostics_each_take_their_own_directive():
    expected = [expect(R, "a constant", 2), expect(R, "constant", 2)]
    assert not match_diagnostics(expected, [diag(R, "a constant", 2)] * 2)


def test_severity_mix_up_is_reported_as_such():
    mismatch = match_diagnostics([expect(W, "m", 1)], [diag(R, "m", 1)])
    assert mismatch.wrong_severity == [(diag(R, "m", 1), expect(W, "m", 1))]
    assert not mismatch.unexpected
    assert mismatch.missing == [expect(W, "m", 1)]


def test_unknown_locations_match_only_unknown_directives():
    assert not match_diagnostics([expect(E, "m", None)], [diag(E, "m", None)])
    mismatch = match_diagnostics([expect(E, "m", 1)], [diag(E, "m", None)])
    assert mismatch.missing and mismatch.unexpected


def test_format_mismatch_lists_unexpected_then_missing_located():
    mismatch = DiagnosticMismatch(
        missing=[ExpectedDiagnostic(E, "gone", 7, 6, 5)],
        unexpected=[diag(W, "surprise", 3), diag(E, "lost", None)],
    )
    assert format_mismatch(mismatch, "f.mlir") == [
        "f.mlir:3:1: error: unexpected warning: surprise",
        "f.mlir:unknown: error: unexpected error: lost",
        'f.mlir:6:5: error: expected error "gone" was not produced',
    ]


_messages = st.text(alphabet="abcdefgh xyz", min_size=1, max_size=12).filter(str.strip)
_diagnostics = st.lists(
    st.builds(
        diag,
        st.sampled_from([E, W, R, N]),
        _messages,
        st.one_of(st.none(), st.integers(1, 6)),
    ),
    max_size=8,
)


def _directives_for(diagnostics: list[SourceDiagnostic]) -> str:
    """Source text whose directives expect exactly ``diagnostics`` (ops on lines 1..6)."""
    lines = [f"op{i}" for i in range(1, 7)]
    below = []
    for d in diagnostics:
        where = "@unknown" if d.line is None else f"@{d.line - 8 - len(below):+d}"
        below.append(f"// expected-{d.severity.value}{where} {{{{{d.message}}}}}")
    return "\n".join(lines + [""] + below)


@given(_diagnostics)
def test_directives_written_for_the_diagnostics_match_them(diagnostics):
    expected = parse_expected_diagnostics(_directives_for(diagnostics))
    assert not match_diagnostics(expected, diagnostics)


@given(_diagnostics.filter(bool), st.data())
def test_a_diagnostic_without_its_directive_is_caught(diagnostics, data):
    dropped = diagnostics.pop(data.draw(st.integers(0, len(diagnostics) - 1)))
    mismatch = match_diagnostics(
        parse_expected_diagnostics(_directives_for(diagnostics)), [*diagnostics, dropped]
    )
    assert not mismatch.missing
    same_place = [d for d in diagnostics if d.line == dropped.line and d.message in dropped.message]
    if any(d.severity is dropped.severity for d in same_place):
        return  # another directive's text covers it, as in mlir-opt
    if same_place:
        assert dropped in [d for d, _ in mismatch.wrong_severity]
    else:
        assert mismatch.unexpected == [dropped]


# ------------------------------------------------------- locating ops and errors
SOURCE = """\
func.func @f(%a: i32) -> i32 {
  %0 = arith.addi %a, %a : i32
    %1 = arith.muli %0, %0 : i32
  func.return %1 : i32
}
"""


def parse_located(text: str, line_offset: int = 0) -> tuple[ModuleOp, SourceMap]:
    source_map = SourceMap(text, line_offset)
    module = LocatingParser(make_context(), text, "t.mlir", source_map).parse_module()
    return module, source_map


def test_parsed_ops_are_located_at_their_first_character():
    module, source_map = parse_located(SOURCE, line_offset=10)
    ops = {op.name: op for op in module.walk()}
    assert source_map.locate(ops["func.func"]) == (11, 1)
    assert source_map.locate(ops["arith.addi"]) == (12, 3)
    assert source_map.locate(ops["arith.muli"]) == (13, 5)
    assert source_map.locate(ops["func.return"]) == (14, 3)


def test_ops_created_later_are_located_at_their_closest_located_ancestor():
    module, source_map = parse_located(SOURCE)
    function = next(op for op in module.walk() if isinstance(op, func.FuncOp))
    new = arith.ConstantOp.from_int_and_width(1, 32)
    function.body.block.insert_op_before(new, function.body.block.first_op)
    assert source_map.locate(new) == (1, 1)
    assert source_map.locate(ModuleOp([])) is None


def test_find_failing_op_names_the_op_and_its_error():
    module, _ = parse_located(SOURCE)
    ret = next(op for op in module.walk() if isinstance(op, func.ReturnOp))
    ret.detach()
    ret.erase()
    op, err = find_failing_op(module)
    assert op.name == "arith.muli"
    assert "terminates block in single-block region" in str(err)
    assert find_failing_op(parse_located(SOURCE)[0]) is None


def test_parse_errors_become_located_errors():
    with pytest.raises(ParseError) as info:
        parse_located("func.func @f() {\n  %0 = arith.constant : i32\n}\n")
    [error] = parse_error_diagnostics(info.value, line_offset=5)
    assert (error.severity, error.line, error.column) == (E, 7, 23)
    assert error.message == "attribute expected"


# ------------------------------------------------------------- running canopy-opt
def run_opt(capsys, *argv: str) -> tuple[int, str, str]:
    status = opt.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


PROGRAM = """\
func.func @f(%a: i32, %b: i32) -> i32 {
  %c = arith.constant 2 : i32
  %0 = arith.muli %a, %c : i32
  %1 = arith.addi %0, %b : i32
  func.return %1 : i32
}
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    path = tmp_path / "prog.mlir"
    path.write_text(PROGRAM)
    return path


def test_a_buggy_pass_is_one_line_exit_1_and_a_reproducer(capsys, program, tmp_path):
    repro = tmp_path / "repro.mlir"
    status, out, err = run_opt(
        capsys, program, "--load-plugin", FAULTY, "-p", "cse,divide-by-zero,dce",
        "--mlir-reproducer", repro,
    )
    assert status == 1 and out == ""
    assert err.splitlines() == [
        (
            "canopy-opt: error: pass 'divide-by-zero' failed: ZeroDivisionError: "
            "integer division or modulo by zero"
        ),
        (
            f"canopy-opt: note: reproducer written to {repro} "
            f"(rerun: canopy-opt {repro} --run-reproducer)"
        ),
    ]
    lines = repro.read_text().splitlines()
    assert lines[1] == f"// configuration: --load-plugin {FAULTY} -p divide-by-zero,dce"
    assert reproducer_arguments(repro.read_text(), "r") == [
        "--load-plugin", FAULTY, "-p", "divide-by-zero,dce"
    ]
    # The reproducer is the IR the pass got, and rerunning it fails the same way.
    status, _, again = run_opt(capsys, repro, "--run-reproducer", "--mlir-reproducer", tmp_path / "2.mlir")
    assert status == 1 and again.splitlines()[0] == err.splitlines()[0]
    assert (tmp_path / "2.mlir").read_text().splitlines()[1:] == lines[1:]


def test_the_reproducer_holds_the_ir_the_failing_pass_got(capsys, program, tmp_path):
    repro = tmp_path / "repro.mlir"
    status, _, err = run_opt(
        capsys, program, "--load-plugin", FAULTY, "-p", "muli-to-addi,reject-addi",
        "--mlir-reproducer", repro, "--elide-large-constants", "0",
    )
    assert status == 1
    assert "pass 'reject-addi' failed: reject-addi: arith.addi is not allowed here" in err
    text = repro.read_text()
    assert '"arith.muli"' not in text and text.count('"arith.addi"') == 2
    assert ELIDED_VALUE not in text  # reproducers are complete whatever the printing flags
    # The IR before the failing pass passes the passes before it unchanged...
    status, out, _ = run_opt(capsys, repro, "--load-plugin", FAULTY)
    assert status == 0 and "arith.muli" not in out


def test_pass_failure_traceback_on_request(capsys, program, tmp_path, monkeypatch):
    monkeypatch.setenv("CANOPY_TRACEBACK", "1")
    with pytest.raises(PassFailure) as info:
        opt.main([str(program), "--load-plugin", FAULTY, "-p", "divide-by-zero",
                  "--mlir-reproducer", str(tmp_path / "r.mlir")])
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_a_pass_that_breaks_the_ir_fails_at_the_culprit(capsys, program, tmp_path):
    status, _, err = run_opt(
        capsys, program, "--load-plugin", FAULTY, "-p", "break-ir",
        "--mlir-reproducer", tmp_path / "r.mlir",
    )
    assert status == 1
    assert err.startswith(
        "canopy-opt: error: pass 'break-ir' failed: left IR that does not verify: "
        "Operation arith.addi terminates block"
    )


def test_no_reproducer_file_is_left_when_the_path_is_unwritable(capsys, program, tmp_path):
    status, _, err = run_opt(
        capsys, program, "--load-plugin", FAULTY, "-p", "divide-by-zero",
        "--mlir-reproducer", tmp_path / "missing-dir" / "r.mlir",
    )
    assert status == 1
    assert "canopy-opt: note: no reproducer: [Errno 2]" in err
    assert "reproducer written" not in err


def test_reproducer_text_round_trips_its_arguments():
    arguments = ["--load-plugin", "/a b/p.py", "-p", 'x{s="q r"},cse']
    text = reproducer_text("builtin.module {}\n", arguments, "pass 'x' failed:\n  two lines")
    assert text.splitlines()[0] == "// canopy-opt reproducer: pass 'x' failed: two lines"
    assert reproducer_arguments(text, "t") == arguments
    with pytest.raises(ReproducerError, match="no '// configuration:' line"):
        reproducer_arguments("builtin.module {}", "t")


def test_verify_diagnostics_exit_status(capsys, tmp_path):
    good = tmp_path / "good.mlir"
    good.write_text(
        "func.func @f() -> i32 {\n  %0 = arith.constant 1 : i64\n"
        "  // expected-error@+1 {{Expected arguments to have the same types}}\n"
        "  func.return %0 : i64\n}\n"
    )
    assert run_opt(capsys, good, "--verify-diagnostics")[0] == 0
    bad = tmp_path / "bad.mlir"
    bad.write_text(good.read_text().replace("@+1", "@-1"))
    status, _, err = run_opt(capsys, bad, "--verify-diagnostics")
    assert status == 1
    assert err.splitlines() == [
        (
            f"{bad}:4:3: error: unexpected error: Expected arguments to have the same "
            "types as the function output types: expected [i32], got [i64]"
        ),
        (
            f'{bad}:3:6: error: expected error "Expected arguments to have the same types" '
            "was not produced"
        ),
    ]


# -------------------------------------------------------------- the pass runner
@dataclass(frozen=True)
class _Counting(ModulePass):
    name = "counting"
    inner: bool = False

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        record_statistic(self, "calls")
        if self.inner:
            _Counting().apply(ctx, op)


def test_record_statistic_is_a_no_op_without_a_collector():
    record_statistic(_Counting(), "calls")  # nothing to assert: must not raise


def test_statistics_of_nested_passes_are_kept_apart_and_summed_over_runs():
    runner = PassRunner([_Counting(inner=True), _Counting()])
    for _ in range(2):
        runner.run(make_context(), ModuleOp([]))
    assert [[(s.pass_name, s.counters) for s in per_pass] for per_pass in runner.statistics] == [
        [("counting", {"calls": 2}), ("counting", {"calls": 2})],
        [("counting", {"calls": 2})],
    ]
    assert runner.statistics_report().splitlines()[3:] == [
        "counting", "  (S) 2 calls", "  counting", "    (S) 2 calls", "counting", "  (S) 2 calls",
    ]


def test_collecting_statistics_restores_the_outer_collector():
    outer, inner = _Counting(), _Counting()
    with collecting_statistics(outer) as outer_stats:
        with collecting_statistics(inner) as inner_stats:
            record_statistic(inner, "x", 3)
        record_statistic(outer, "y")
    assert [s.counters for s in inner_stats] == [{"x": 3}]
    assert [s.counters for s in outer_stats] == [{"y": 1}]
    merged = PassStatistics("p", {"a": 1})
    merged.merge(PassStatistics("p", {"a": 2, "b": 1}))
    assert merged.counters == {"a": 3, "b": 1}


def test_timer_report_accounts_for_every_step():
    timer = Timer(started=0.0)
    timer.seconds = {"Parser": 1.0, "cse": 0.5}
    lines = timer.report().splitlines()
    total = float(lines[3].split()[3])
    assert lines[5] == "  ----Wall Time----  ----Name----"
    rows = {line.split()[-1]: float(line.split()[0]) for line in lines[6:]}
    assert rows["Parser"] == 1.0 and rows["cse"] == 0.5
    assert rows["Rest"] == pytest.approx(total - 1.5, abs=1e-3)
    assert rows["Total"] == pytest.approx(total, abs=1e-3)


def test_dump_headers_follow_mlir_opt():
    from xdsl.transforms.common_subexpression_elimination import (
        CommonSubexpressionElimination,
    )

    pass_ = CommonSubexpressionElimination()
    assert dump_header("After", pass_) == (
        "// -----// IR Dump After CommonSubexpressionElimination (cse) //----- //"
    )
    assert dump_header("After", pass_, failed=True) == (
        "// -----// IR Dump After CommonSubexpressionElimination Failed (cse) //----- //"
    )


def test_the_runner_wraps_any_pass_exception():
    @dataclass(frozen=True)
    class Broken(ModulePass):
        name = "broken"

        def apply(self, ctx, op):
            raise KeyError("k")

    stream = StringIO()
    runner = PassRunner([Broken()], Instrumentation(print_after_failure=True), dump_stream=stream)
    with pytest.raises(PassFailure) as info:
        runner.run(make_context(), ModuleOp([]))
    assert info.value.describe() == "pass 'broken' failed: KeyError: 'k'"
    assert info.value.index == 0
    assert stream.getvalue().startswith("// -----// IR Dump After Broken Failed (broken)")


# -------------------------------------------------------------------- pipelines
def test_named_pipelines_expand_recursively_and_mix_with_passes():
    pipelines = {
        "inner": NamedPipeline("inner", "cse,dce"),
        "outer": NamedPipeline("outer", "canonicalize,inner"),
    }
    specs = expand_pipeline("outer,dce{x=1}", pipelines, ["cse", "dce", "canonicalize"])
    assert [str(s) for s in specs] == ["canonicalize", "cse", "dce", "dce{x=1}"]


def test_named_pipeline_errors():
    cyclic = {"a": NamedPipeline("a", "b"), "b": NamedPipeline("b", "cse,a")}
    with pytest.raises(PipelineError, match="named pipeline cycle: a -> b -> a"):
        expand_pipeline("a", cyclic)
    with pytest.raises(PipelineError, match="cse: both a pass and a named pipeline"):
        expand_pipeline("cse", {"cse": NamedPipeline("cse", "dce")}, ["cse"])
    spec = NAMED_PIPELINES["canopy-cleanup"].spec
    with pytest.raises(PipelineError, match="already registered"):
        register_pipeline("canopy-cleanup", "cse")
    assert NAMED_PIPELINES["canopy-cleanup"].spec == spec


def test_pipeline_options_are_routed_to_their_passes():
    pipelines: dict[str, NamedPipeline] = {}
    register_pipeline(
        "lower",
        "quantize,cse,partition,convert",
        options=(
            PipelineOption("seed", ("quantize",), "random seed"),
            PipelineOption("config", ("partition", "convert"), "hardware"),
        ),
        optional=("quantize",),
        registry=pipelines,
    )
    plain = expand_pipeline("lower", pipelines)
    assert [str(s) for s in plain] == ["cse", "partition", "convert"]
    routed = expand_pipeline('lower{seed=3 config="tiny"},dce', pipelines)
    assert [str(s) for s in routed] == [
        "quantize{seed=3}", 'cse', 'partition{config="tiny"}', 'convert{config="tiny"}', "dce"
    ]
    with pytest.raises(PipelineError, match=r"pipeline 'lower' has no option 'sed' \(its options: seed, config\)"):
        expand_pipeline("lower{sed=3}", pipelines)
    with pytest.raises(PipelineError, match="option 'x' is routed to nope, which the pipeline does not run"):
        register_pipeline("bad", "cse", options=(PipelineOption("x", ("nope",)),), registry=pipelines)
    with pytest.raises(PipelineError, match="optional dce not in its spec"):
        register_pipeline("bad", "cse", optional=("dce",), registry=pipelines)


def test_pipeline_spec_recreates_passes_with_options():
    available = {"counting": lambda: _Counting}
    passes = instantiate_passes(expand_pipeline("counting{inner=true},counting", {}), available)
    assert pipeline_spec(passes) == "counting{inner=true},counting"
    assert instantiate_passes(expand_pipeline(pipeline_spec(passes), {}), available) == passes
    with pytest.raises(ValueError, match=r"Unrecognized passes: \['nope'\]"):
        instantiate_passes(expand_pipeline("nope", {}), available)


# ---------------------------------------------------------------------- plugins
def test_plugins_register_through_a_function_or_lists():
    registry = load_plugins([DEMO, FAULTY])
    assert set(registry.dialects) == {"demo"}
    assert {"demo-lower-double", "divide-by-zero", "count-ops"} <= set(registry.passes)
    assert registry.pipelines["demo-lower"].spec == "demo-lower-double,cse"


def test_plugin_registry_rejects_bad_additions():
    registry = PluginRegistry(current_plugin="plugin p")
    with pytest.raises(PluginError, match="plugin p: add_pass expects a ModulePass subclass"):
        registry.add_pass(int)  # type: ignore[arg-type]
    with pytest.raises(PluginError, match="needs a factory"):
        registry.add_dialect("x")
    registry.add_pass(_Counting)
    with pytest.raises(PluginError, match="pass 'counting' is already added by plugin p"):
        registry.add_pass(_Counting)
    with pytest.raises(PluginError, match="pipeline 'bad'"):
        registry.add_pipeline("bad", "a{")


def test_a_plugin_that_fails_to_import_is_named(tmp_path, capsys):
    plugin = tmp_path / "broken_plugin.py"
    plugin.write_text("import no_such_module_anywhere\n")
    status, _, err = run_opt(capsys, "--load-plugin", plugin, "--list-passes")
    assert status == 1
    assert err == (
        f"canopy-opt: error: plugin {plugin}: import failed: ModuleNotFoundError: "
        "No module named 'no_such_module_anywhere'\n"
    )


def test_a_plugin_pass_may_not_shadow_a_built_in_one(tmp_path, capsys):
    plugin = tmp_path / "shadow.py"
    plugin.write_text(
        "from xdsl.transforms.common_subexpression_elimination import "
        "CommonSubexpressionElimination\nPASSES = [CommonSubexpressionElimination]\n"
    )
    status, _, err = run_opt(capsys, "--load-plugin", plugin, "--list-passes")
    assert (status, err) == (1, "canopy-opt: error: plugin pass 'cse' clashes with a built-in one\n")


# --------------------------------------------------------------------- printing
def dense(values: list[int]) -> DenseIntOrFPElementsAttr:
    return DenseIntOrFPElementsAttr.from_list(TensorType(i32, [len(values)]), values)


def test_elision_threshold_is_scoped_and_spares_splats():
    assert elide_threshold() is None and not should_elide(10**9)
    with eliding_constants_larger_than(4):
        assert elide_threshold() == 4
        assert should_elide(5) and not should_elide(4)
        assert not should_elide(5, is_splat=True)
        assert should_elide_dense(dense([1, 2, 3, 4, 5]))
        assert not should_elide_dense(dense([1, 2, 3, 4]))
        assert not should_elide_dense(dense([9] * 5))
    assert elide_threshold() is None
    assert dense_is_splat(dense([3] * 7)) and not dense_is_splat(dense([3] * 6 + [4]))
    assert dense_is_splat(dense([5]))


def test_the_eliding_printer_changes_only_large_dense_constants():
    module = ModuleOp([arith.ConstantOp(dense([1, 2, 3])), arith.ConstantOp(dense([1, 2]))])
    plain, elided = StringIO(), StringIO()
    print_ir(module, plain)
    with eliding_constants_larger_than(2):
        print_ir(module, elided)
    assert elided.getvalue() == plain.getvalue().replace(
        "dense<[1, 2, 3]>", "dense_resource<__elided__>"
    )


def test_canopy_output_equals_xdsl_output_without_elision(capsys, program):
    from xdsl.printer import Printer

    status, out, _ = run_opt(capsys, program)
    module = opt.CanopyOptMain(args=[str(program)])._parse_mlir_text(PROGRAM, 0)
    expected = StringIO()
    Printer(stream=expected).print_op(module)
    assert status == 0 and out == expected.getvalue() + "\n\n"


# ----------------------------------------------------------------- onnx plumbing
@pytest.fixture
def fake_importer(monkeypatch):
    """A stand-in for canopy_mlir.frontend.onnx_importer, recording its calls."""
    calls: list[tuple[str, object]] = []
    module = types.ModuleType("canopy_mlir.frontend.onnx_importer")

    def import_onnx(path):
        calls.append(("import", path))
        function = func.FuncOp("main", ((), ()))
        function.body.block.add_op(func.ReturnOp())
        return ModuleOp([function])

    def check_support(model):
        calls.append(("check", model))
        return types.SimpleNamespace(ok="bad" not in str(model))

    module.import_onnx = import_onnx
    module.check_support = check_support
    package = types.ModuleType("canopy_mlir.frontend")
    package.onnx_importer = module
    monkeypatch.setitem(sys.modules, "canopy_mlir.frontend", package)
    monkeypatch.setitem(sys.modules, "canopy_mlir.frontend.onnx_importer", module)
    return calls


def test_onnx_frontend_gets_the_input_path(capsys, tmp_path, fake_importer):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"\x08\x07 not text \xff")
    status, out, _ = run_opt(capsys, model)
    assert status == 0 and "func.func @main()" in out
    assert fake_importer == [("import", str(model))]
    other = tmp_path / "m.bin"
    other.write_bytes(b"\xff")
    assert run_opt(capsys, "-f", "onnx", other)[0] == 0
    assert fake_importer[-1] == ("import", str(other))


def test_check_support_exit_status_follows_the_report(capsys, tmp_path, fake_importer):
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    good.write_bytes(b"")
    bad.write_bytes(b"")
    assert run_opt(capsys, good, "--check-support")[0] == 0
    assert run_opt(capsys, bad, "--check-support")[0] == 1
    assert [c[0] for c in fake_importer] == ["check", "check"]


def test_binary_input_without_a_frontend_is_a_clear_error(capsys, tmp_path):
    blob = tmp_path / "x.mlir"
    blob.write_bytes(b"\xff\xfe")
    status, _, err = run_opt(capsys, blob)
    assert status == 1
    assert err == (
        f"canopy-opt: error: {blob}: not UTF-8 text (byte 0); for a binary format pick "
        "its frontend with -f\n"
    )


@pytest.mark.parametrize(
    ("report", "verdict"),
    [
        (types.SimpleNamespace(ok=True), True),
        (types.SimpleNamespace(supported=False), False),
        (True, True),
        ([], True),
        (["Foo: unsupported"], False),
        ({"Foo": 2}, False),
        ("", True),
        ("Foo unsupported", False),
    ],
)
def test_support_verdict_shapes(report, verdict):
    assert opt.support_verdict(report)[1] is verdict
