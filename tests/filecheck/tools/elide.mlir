// --mlir-elide-elementsattrs-if-larger=N (alias --elide-large-constants N): dense
// constants of more than N elements print as dense_resource<__elided__>, in the output
// and in IR dumps; splats and constants of N elements or fewer print in full.
// RUN: canopy-opt --allow-unregistered-dialect %s --mlir-elide-elementsattrs-if-larger=4 | filecheck %s
// RUN: canopy-opt --allow-unregistered-dialect %s --elide-large-constants 4 --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: canopy-opt --allow-unregistered-dialect %s --elide-large-constants=4 -p cse --mlir-print-ir-after=cse 2>&1 >/dev/null | filecheck %s
// Without the flag everything prints.
// RUN: canopy-opt --allow-unregistered-dialect %s | filecheck %s --check-prefix=FULL
// The elided form parses back (as an opaque resource).
// RUN: canopy-opt --allow-unregistered-dialect %s --elide-large-constants 4 | canopy-opt --allow-unregistered-dialect | filecheck %s
// RUN: not canopy-opt --allow-unregistered-dialect %s --elide-large-constants -1 2>&1 | filecheck %s --check-prefix=NEGATIVE

"test.keep"() {
  big = dense<[1, 2, 3, 4, 5]> : tensor<5xi32>,
  four = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>,
  splat = dense<7> : tensor<100xi8>,
  nested = [dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi64>]
} : () -> ()

// CHECK:      big = dense_resource<__elided__> : tensor<5xi32>
// CHECK-SAME: four = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-SAME: splat = dense<7> : tensor<100xi8>
// CHECK-SAME: nested = [dense_resource<__elided__> : tensor<6xi64>]

// GENERIC: "test.keep"() {big = dense_resource<__elided__> : tensor<5xi32>

// FULL: big = dense<[1, 2, 3, 4, 5]> : tensor<5xi32>
// FULL-SAME: nested = [dense<[1, 2, 3, 4, 5, 6]> : tensor<6xi64>]

// NEGATIVE: canopy-opt: error: the elision threshold must be >= 0, got -1
