// --load-plugin: examples/plugin adds the demo dialect, its lowering pass and a named
// pipeline; the lowering records a statistic.
// RUN: canopy-opt --load-plugin %S/../../../examples/plugin/demo_plugin.py %S/../../../examples/plugin/double.mlir | filecheck %s --check-prefix=ROUNDTRIP
// RUN: canopy-opt --load-plugin %S/../../../examples/plugin/demo_plugin.py %s -p demo-lower --mlir-pass-statistics 2>%t.err | filecheck %s
// RUN: filecheck %s --check-prefix=STATS --input-file %t.err
// The plugin's pass is listed, and works with the --load-plugin=PATH spelling too.
// RUN: canopy-opt --load-plugin=%S/../../../examples/plugin/demo_plugin.py --list-passes | filecheck %s --check-prefix=LIST
// Without the plugin the dialect is unknown.
// RUN: not canopy-opt %s 2>&1 | filecheck %s --check-prefix=NO-PLUGIN
// Plugin errors name the plugin.
// RUN: not canopy-opt --load-plugin %t.missing.py %s 2>&1 | filecheck %s --check-prefix=MISSING
// RUN: not canopy-opt --load-plugin %S/Inputs/empty_plugin.py %s 2>&1 | filecheck %s --check-prefix=EMPTY
// RUN: not canopy-opt --load-plugin %S/../../../examples/plugin/demo_plugin.py --load-plugin %S/Inputs/clashing_plugin.py %s 2>&1 | filecheck %s --check-prefix=CLASH
// Naming the same plugin twice loads it once.
// RUN: canopy-opt --load-plugin %S/../../../examples/plugin/demo_plugin.py --load-plugin=%S/../../../examples/plugin/demo_plugin.py %s -p demo-lower | filecheck %s

func.func @octuple(%x: i64) -> i64 {
  %0 = demo.double %x : i64
  %1 = demo.double %0 : i64
  %2 = demo.double %1 : i64
  func.return %2 : i64
}

// ROUNDTRIP: %0 = demo.double %x : i32
// ROUNDTRIP: %1 = demo.double %0 : i32

// CHECK:      func.func @octuple(%x: i64) -> i64 {
// CHECK-NEXT:   %0 = arith.addi %x, %x : i64
// CHECK-NEXT:   %1 = arith.addi %0, %0 : i64
// CHECK-NEXT:   %2 = arith.addi %1, %1 : i64
// CHECK-NEXT:   func.return %2 : i64

// STATS:      demo-lower-double
// STATS-NEXT:   (S) 3 lowered - demo.double ops rewritten
// STATS-NEXT: cse

// LIST: demo-lower-double

// NO-PLUGIN: error: Operation demo.double is not registered

// MISSING: canopy-opt: error: plugin {{.*}}missing.py: no such file
// EMPTY: canopy-opt: error: plugin {{.*}}empty_plugin.py: defines neither register(registry) nor DIALECTS / PASSES / TARGETS / PIPELINES
// CLASH: canopy-opt: error: plugin {{.*}}clashing_plugin.py: pass 'demo-lower-double' is already added by plugin {{.*}}demo_plugin.py
