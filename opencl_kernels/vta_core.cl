/*
 * vta_core.cl -- the canopy_mlir accelerator core as a single work-item OpenCL kernel.
 *
 * Written the way an FPGA HLS designer writes a core for the Intel FPGA SDK for OpenCL:
 * one work-item executes the instruction stream in program order, the five on-chip
 * buffers (UOP, INP, WGT, ACC, OUT) are fixed-size arrays, and every width, depth and
 * instruction-field position is a compile-time macro. Nothing is hard-coded here: the
 * macros come as -D build options from canopy_mlir/runtime/kernel_build.py, derived from
 * a HardwareConfig and isa_format.layouts_for(config). The semantics are those of
 * docs/isa.md, bit for bit equal to the reference simulator on well-defined programs.
 *
 * Memory model
 *   Every __global argument is the SAME device pool; every DRAM address in an instruction
 *   is an element index from the pool base, in elements of the memory it targets.
 *   SRAM indices are wrapped with & (depth - 1), like hardware address buses of
 *   log2(depth) bits, so any instruction stream is memory-safe on the chip. DRAM ranges
 *   are NOT checked here: the card runtime checks them before every launch.
 *
 * SRAM placement
 *   By default the buffers are __local arrays (on-chip memory on an FPGA, a per-work-group
 *   block on CPUs and GPUs). Devices with too little local memory for a config get
 *   -DVTA_SRAM_IN_POOL=1 -DVTA_SRAM_POOL_OFFSET=<bytes>: the runtime then reserves a
 *   scratch region at that byte offset of the pool and the buffers live there.
 *
 * Dependency-token flags are ignored: a single work-item in program order already
 * satisfies every dependency they express.
 */

/* ------------------------------------------------------------ required macros */
/* All of them come from canopy_mlir/runtime/kernel_build.py as -D build options. */
#if !defined(VTA_BATCH) || !defined(VTA_BLOCK_IN) || !defined(VTA_BLOCK_OUT)
#error "VTA_BATCH, VTA_BLOCK_IN and VTA_BLOCK_OUT must be given as -D build options"
#endif
#if !defined(VTA_UOP_DEPTH) || !defined(VTA_INP_DEPTH) || !defined(VTA_WGT_DEPTH) \
    || !defined(VTA_ACC_DEPTH)
#error "VTA_UOP_DEPTH, VTA_INP_DEPTH, VTA_WGT_DEPTH, VTA_ACC_DEPTH must be -D build options"
#endif
#if !defined(VTA_INSN_WORDS) || !defined(MEM_OPCODE_LO) || !defined(UOP_DST_LO) \
    || !defined(ALU_IMM_WIDTH)
#error "the field layout macros (<KIND>_<FIELD>_WORD/_LO/_WIDTH) must be -D build options"
#endif
#if !defined(VTA_OPCODE_LOAD) || !defined(VTA_MEM_UOP) || !defined(VTA_ALU_SHR)
#error "the opcode and memory-type enumeration macros must be given as -D build options"
#endif
#ifndef VTA_SRAM_IN_POOL
#define VTA_SRAM_IN_POOL 0
#endif

/* ------------------------------------------------------------ derived sizes */
#define INP_ELEM_BYTES (VTA_BATCH * VTA_BLOCK_IN)   /* one INP element: [b][ic] int8 */
#define WGT_ELEM_BYTES (VTA_BLOCK_OUT * VTA_BLOCK_IN) /* one WGT element: [oc][ic] int8 */
#define ACC_ELEM_WORDS (VTA_BATCH * VTA_BLOCK_OUT)  /* one ACC element: [b][oc] int32 */
#define OUT_ELEM_BYTES (VTA_BATCH * VTA_BLOCK_OUT)  /* one OUT / ACC_8BIT element: int8 */
#define VTA_OUT_DEPTH VTA_ACC_DEPTH                 /* OUT mirrors ACC element for element */

#define UOP_MASK (VTA_UOP_DEPTH - 1u)
#define INP_MASK (VTA_INP_DEPTH - 1u)
#define WGT_MASK (VTA_WGT_DEPTH - 1u)
#define ACC_MASK (VTA_ACC_DEPTH - 1u)

#if (VTA_UOP_DEPTH & UOP_MASK) || (VTA_INP_DEPTH & INP_MASK) || (VTA_WGT_DEPTH & WGT_MASK) \
    || (VTA_ACC_DEPTH & ACC_MASK)
#error "SRAM depths must be powers of two (indices wrap with & (depth - 1))"
#endif

#if VTA_SRAM_IN_POOL
#define SRAM __global
#else
#define SRAM __local
#endif

/* ------------------------------------------------------------ field extraction */
/* A mask of `width` low bits, valid for 1 <= width <= 64. */
#define FIELD_MASK(width) ((((1UL << ((width) - 1)) << 1)) - 1UL)
/* Field NAME of instruction kind KIND (MEM, GEMM, ALU, FINISH, UOP) from words w0, w1. */
#define FIELD(KIND, NAME, w0, w1)                                                    \
    (((((KIND##_##NAME##_WORD) == 0) ? (ulong)(w0) : (ulong)(w1)) >> (KIND##_##NAME##_LO)) \
     & FIELD_MASK(KIND##_##NAME##_WIDTH))
#define UOP_FIELD(NAME, uop) ((uint)FIELD(UOP, NAME, (uop), 0UL))

/* Sign-extend the low `width` bits of `raw` (the ALU immediate). */
int sign_extend(ulong raw, uint width)
{
    const ulong sign = 1UL << (width - 1);
    return (int)(long)((raw ^ sign) - sign);
}

/* Low 8 bits of an accumulator value, two's complement, without implementation-defined
 * signed narrowing: unsigned narrowing is modular, as_char reinterprets the byte. */
char low_byte(int value)
{
    return as_char((uchar)(uint)value);
}

/* ------------------------------------------------------------ LOAD / STORE */
typedef struct {
    uint sram_base;
    ulong dram_base;
    uint y_size, x_size, x_stride;
    uint y_pad0, y_pad1, x_pad0, x_pad1;
} mem_insn_t;

mem_insn_t decode_mem(ulong w0, ulong w1)
{
    mem_insn_t m;
    m.sram_base = (uint)FIELD(MEM, SRAM_BASE, w0, w1);
    m.dram_base = FIELD(MEM, DRAM_BASE, w0, w1);
    m.y_size = (uint)FIELD(MEM, Y_SIZE, w0, w1);
    m.x_size = (uint)FIELD(MEM, X_SIZE, w0, w1);
    m.x_stride = (uint)FIELD(MEM, X_STRIDE, w0, w1);
    m.y_pad0 = (uint)FIELD(MEM, Y_PAD0, w0, w1);
    m.y_pad1 = (uint)FIELD(MEM, Y_PAD1, w0, w1);
    m.x_pad0 = (uint)FIELD(MEM, X_PAD0, w0, w1);
    m.x_pad1 = (uint)FIELD(MEM, X_PAD1, w0, w1);
    return m;
}

uint padded_rows(const mem_insn_t *m) { return m->y_pad0 + m->y_size + m->y_pad1; }
uint padded_width(const mem_insn_t *m) { return m->x_pad0 + m->x_size + m->x_pad1; }

/* For element (y, x) of a padded LOAD window: 1 and its DRAM element index in *dram when
 * it lies inside the unpadded window, 0 when it is padding (written as zero). */
int window_source(const mem_insn_t *m, uint y, uint x, ulong *dram)
{
    if (y < m->y_pad0 || y >= m->y_pad0 + m->y_size || x < m->x_pad0 || x >= m->x_pad0 + m->x_size)
        return 0;
    *dram = m->dram_base + (ulong)(y - m->y_pad0) * m->x_stride + (x - m->x_pad0);
    return 1;
}

/* Copy the padded window of LOAD *m into an SRAM buffer whose elements hold LANES values
 * of type T: window element (y, x) lands in SRAM element (sram_base + y * width + x),
 * wrapped to the buffer depth with MASK; inside the unpadded window its LANES values come
 * from DRAM element d (converted to T, which sign-extends ACC_8BIT's int8), and in the
 * padding they are zero. One loop nest serves every memory, as one templated HLS loop. */
#define LOAD_WINDOW(m, sram, MASK, LANES, T, dram)                                        \
    do {                                                                                  \
        const uint width_ = padded_width(m);                                              \
        for (uint y = 0; y < padded_rows(m); ++y)                                         \
            for (uint x = 0; x < width_; ++x) {                                           \
                const uint s = ((m)->sram_base + y * width_ + x) & (MASK);                \
                ulong d;                                                                  \
                const int inside = window_source((m), y, x, &d);                          \
                for (uint j = 0; j < (LANES); ++j)                                        \
                    (sram)[s * (LANES) + j] = inside ? (T)(dram)[d * (LANES) + j] : (T)0; \
            }                                                                             \
    } while (0)

void execute_load(ulong w0, ulong w1, SRAM uint *uop_mem, SRAM char *inp_mem,
                  SRAM char *wgt_mem, SRAM int *acc_mem, __global const uint *uops,
                  __global const int *biases, __global const char *inputs,
                  __global const char *weights)
{
    const mem_insn_t m = decode_mem(w0, w1);
    if (m.x_size == 0 || m.y_size == 0)
        return; /* a token carrier: moves nothing, not even padding */
    switch ((uint)FIELD(MEM, MEMORY_TYPE, w0, w1)) {
    case VTA_MEM_UOP: LOAD_WINDOW(&m, uop_mem, UOP_MASK, 1, uint, uops); break;
    case VTA_MEM_INP: LOAD_WINDOW(&m, inp_mem, INP_MASK, INP_ELEM_BYTES, char, inputs); break;
    case VTA_MEM_WGT: LOAD_WINDOW(&m, wgt_mem, WGT_MASK, WGT_ELEM_BYTES, char, weights); break;
    /* ACC: int32 lanes; ACC_8BIT: int8 lanes of OUT's shape (as many as ACC has). */
    case VTA_MEM_ACC: LOAD_WINDOW(&m, acc_mem, ACC_MASK, ACC_ELEM_WORDS, int, biases); break;
    case VTA_MEM_ACC_8BIT: LOAD_WINDOW(&m, acc_mem, ACC_MASK, OUT_ELEM_BYTES, int, inputs); break;
    default: break; /* LOAD OUT and unknown memories: rejected by the runtime */
    }
}

void execute_store(ulong w0, ulong w1, SRAM const char *out_mem, __global char *outputs)
{
    const mem_insn_t m = decode_mem(w0, w1);
    if ((uint)FIELD(MEM, MEMORY_TYPE, w0, w1) != VTA_MEM_OUT)
        return; /* only OUT can be stored; the runtime rejects anything else */
    for (uint y = 0; y < m.y_size; ++y)
        for (uint x = 0; x < m.x_size; ++x) {
            const uint s = (m.sram_base + y * m.x_size + x) & ACC_MASK;
            const ulong d = m.dram_base + (ulong)y * m.x_stride + x;
            for (uint j = 0; j < OUT_ELEM_BYTES; ++j)
                outputs[d * OUT_ELEM_BYTES + j] = out_mem[s * OUT_ELEM_BYTES + j];
        }
}

/* ------------------------------------------------------------ GEMM / ALU loops */
typedef struct {
    uint reset, uop_bgn, uop_end, iter_out, iter_in;
    uint dst_factor_out, dst_factor_in, src_factor_out, src_factor_in;
} loop_insn_t;

#define DECODE_LOOP(KIND, w0, w1)                                          \
    {                                                                      \
        (uint)FIELD(KIND, RESET, w0, w1), (uint)FIELD(KIND, UOP_BGN, w0, w1), \
        (uint)FIELD(KIND, UOP_END, w0, w1), (uint)FIELD(KIND, ITER_OUT, w0, w1), \
        (uint)FIELD(KIND, ITER_IN, w0, w1), (uint)FIELD(KIND, DST_FACTOR_OUT, w0, w1), \
        (uint)FIELD(KIND, DST_FACTOR_IN, w0, w1), (uint)FIELD(KIND, SRC_FACTOR_OUT, w0, w1), \
        (uint)FIELD(KIND, SRC_FACTOR_IN, w0, w1)                           \
    }

/* Buffer index of loop step (o, i): the micro-op's index plus o * f_out + i * f_in, wrapped
 * to the buffer (unsigned overflow is modular, so the wrap stays exact). */
uint loop_index(uint base, uint o, uint i, uint f_out, uint f_in, uint mask)
{
    return (base + o * f_out + i * f_in) & mask;
}

/* A reset step: acc[dst] = 0. OUT is unspecified by the ISA after a reset; the core
 * writes 0 there (the simulator poisons it). */
void reset_acc(uint dst, SRAM int *acc_mem, SRAM char *out_mem)
{
    for (uint j = 0; j < ACC_ELEM_WORDS; ++j) {
        acc_mem[dst * ACC_ELEM_WORDS + j] = 0;
        out_mem[dst * OUT_ELEM_BYTES + j] = 0;
    }
}

/* acc[dst][b][oc] += sum_ic inp[src][b][ic] * wgt[w][oc][ic], wrapping at 32 bits.
 * The ic dot product cannot overflow int (|sum| <= BLOCK_IN * 2^14 with BLOCK_IN <= 2^8)
 * and is a fixed-trip-count loop the compiler vectorises; only the accumulation wraps. */
void gemm_step(uint dst, uint src, uint w, SRAM const char *inp_mem,
               SRAM const char *wgt_mem, SRAM int *acc_mem, SRAM char *out_mem)
{
    SRAM const char *inp = inp_mem + src * INP_ELEM_BYTES;
    SRAM const char *wgt = wgt_mem + w * WGT_ELEM_BYTES;
    SRAM int *acc = acc_mem + dst * ACC_ELEM_WORDS;
    SRAM char *out = out_mem + dst * OUT_ELEM_BYTES;
    for (uint b = 0; b < VTA_BATCH; ++b)
        for (uint oc = 0; oc < VTA_BLOCK_OUT; ++oc) {
            int sum = 0;
            for (uint ic = 0; ic < VTA_BLOCK_IN; ++ic)
                sum += (int)inp[b * VTA_BLOCK_IN + ic] * (int)wgt[oc * VTA_BLOCK_IN + ic];
            const uint k = b * VTA_BLOCK_OUT + oc;
            const int value = as_int(as_uint(acc[k]) + as_uint(sum));
            acc[k] = value;
            out[k] = low_byte(value);
        }
}

void execute_gemm(ulong w0, ulong w1, SRAM const uint *uop_mem, SRAM const char *inp_mem,
                  SRAM const char *wgt_mem, SRAM int *acc_mem, SRAM char *out_mem)
{
    const loop_insn_t l = DECODE_LOOP(GEMM, w0, w1);
    const uint wgt_factor_out = (uint)FIELD(GEMM, WGT_FACTOR_OUT, w0, w1);
    const uint wgt_factor_in = (uint)FIELD(GEMM, WGT_FACTOR_IN, w0, w1);
    for (uint o = 0; o < l.iter_out; ++o)
        for (uint i = 0; i < l.iter_in; ++i)
            for (uint u = l.uop_bgn; u < l.uop_end; ++u) {
                const uint uop = uop_mem[u & UOP_MASK];
                const uint dst =
                    loop_index(UOP_FIELD(DST, uop), o, i, l.dst_factor_out, l.dst_factor_in, ACC_MASK);
                if (l.reset) {
                    reset_acc(dst, acc_mem, out_mem);
                    continue;
                }
                const uint src =
                    loop_index(UOP_FIELD(SRC, uop), o, i, l.src_factor_out, l.src_factor_in, INP_MASK);
                const uint w =
                    loop_index(UOP_FIELD(WGT, uop), o, i, wgt_factor_out, wgt_factor_in, WGT_MASK);
                gemm_step(dst, src, w, inp_mem, wgt_mem, acc_mem, out_mem);
            }
}

/* SHR by s: s >= 0 arithmetic right shift by min(s, 31); s < 0 left shift by -s, wrapping,
 * 0 once -s >= 32. The right shift of a negative value is spelled through ~ so that it
 * does not depend on implementation-defined signed >>. */
int alu_shift(int a, int s)
{
    if (s >= 0) {
        const uint n = (uint)min(s, 31);
        return a < 0 ? ~((~a) >> n) : (a >> n);
    }
    if (s <= -32)
        return 0;
    return as_int(as_uint(a) << (uint)(-s));
}

/* One ALU operation; ADD and MUL in unsigned arithmetic, so they wrap (signed overflow
 * is undefined in C). */
int alu_apply(uint opcode, int a, int b)
{
    switch (opcode) {
    case VTA_ALU_MIN: return min(a, b);
    case VTA_ALU_MAX: return max(a, b);
    case VTA_ALU_ADD: return as_int(as_uint(a) + as_uint(b));
    case VTA_ALU_MUL: return as_int(as_uint(a) * as_uint(b));
    case VTA_ALU_SHR: return alu_shift(a, b);
    default: return a; /* unknown ALU opcodes are rejected by the runtime */
    }
}

void execute_alu(ulong w0, ulong w1, SRAM const uint *uop_mem, SRAM int *acc_mem,
                 SRAM char *out_mem)
{
    const loop_insn_t l = DECODE_LOOP(ALU, w0, w1);
    const uint opcode = (uint)FIELD(ALU, ALU_OPCODE, w0, w1);
    const uint use_imm = (uint)FIELD(ALU, USE_IMM, w0, w1);
    const int imm = sign_extend(FIELD(ALU, IMM, w0, w1), ALU_IMM_WIDTH);
    for (uint o = 0; o < l.iter_out; ++o)
        for (uint i = 0; i < l.iter_in; ++i)
            for (uint u = l.uop_bgn; u < l.uop_end; ++u) {
                const uint uop = uop_mem[u & UOP_MASK];
                const uint dst =
                    loop_index(UOP_FIELD(DST, uop), o, i, l.dst_factor_out, l.dst_factor_in, ACC_MASK);
                if (l.reset) {
                    reset_acc(dst, acc_mem, out_mem);
                    continue;
                }
                const uint src =
                    loop_index(UOP_FIELD(SRC, uop), o, i, l.src_factor_out, l.src_factor_in, ACC_MASK);
                /* Element j of dst reads only element j of src, so dst == src is safe. */
                for (uint j = 0; j < ACC_ELEM_WORDS; ++j) {
                    const int a = acc_mem[dst * ACC_ELEM_WORDS + j];
                    const int b = use_imm ? imm : acc_mem[src * ACC_ELEM_WORDS + j];
                    const int value = alu_apply(opcode, a, b);
                    acc_mem[dst * ACC_ELEM_WORDS + j] = value;
                    out_mem[dst * OUT_ELEM_BYTES + j] = low_byte(value);
                }
            }
}

/* ------------------------------------------------------------ SRAM reset */
void zero_sram(SRAM uint *uop_mem, SRAM char *inp_mem, SRAM char *wgt_mem,
               SRAM int *acc_mem, SRAM char *out_mem)
{
    for (uint k = 0; k < VTA_UOP_DEPTH; ++k) uop_mem[k] = 0u;
    for (uint k = 0; k < VTA_INP_DEPTH * INP_ELEM_BYTES; ++k) inp_mem[k] = 0;
    for (uint k = 0; k < VTA_WGT_DEPTH * WGT_ELEM_BYTES; ++k) wgt_mem[k] = 0;
    for (uint k = 0; k < VTA_ACC_DEPTH * ACC_ELEM_WORDS; ++k) acc_mem[k] = 0;
    for (uint k = 0; k < VTA_OUT_DEPTH * OUT_ELEM_BYTES; ++k) out_mem[k] = 0;
}

/* ------------------------------------------------------------ the core */
#ifdef INTELFPGA_CL
#define VTA_SINGLE_WORK_ITEM __attribute__((max_global_work_dim(0)))
#else
#define VTA_SINGLE_WORK_ITEM
#endif
__kernel VTA_SINGLE_WORK_ITEM __attribute__((reqd_work_group_size(1, 1, 1)))
void vta_core(uint insn_count, uint insn_offset, __global const ulong *insns,
              __global const uint *uops, __global const int *biases,
              __global const char *inputs, __global const char *weights,
              __global char *outputs)
{
#if VTA_SRAM_IN_POOL
    /* Scratch images inside the pool, int-typed buffers first so all stay aligned. */
    __global char *scratch = outputs + VTA_SRAM_POOL_OFFSET;
    SRAM int *acc_mem = (SRAM int *)scratch;
    SRAM uint *uop_mem = (SRAM uint *)(scratch + VTA_ACC_DEPTH * ACC_ELEM_WORDS * 4);
    SRAM char *inp_mem = (SRAM char *)(uop_mem + VTA_UOP_DEPTH);
    SRAM char *wgt_mem = inp_mem + VTA_INP_DEPTH * INP_ELEM_BYTES;
    SRAM char *out_mem = wgt_mem + VTA_WGT_DEPTH * WGT_ELEM_BYTES;
#else
    __local int acc_mem[VTA_ACC_DEPTH * ACC_ELEM_WORDS];
    __local uint uop_mem[VTA_UOP_DEPTH];
    __local char inp_mem[VTA_INP_DEPTH * INP_ELEM_BYTES];
    __local char wgt_mem[VTA_WGT_DEPTH * WGT_ELEM_BYTES];
    __local char out_mem[VTA_OUT_DEPTH * OUT_ELEM_BYTES];
#endif
    zero_sram(uop_mem, inp_mem, wgt_mem, acc_mem, out_mem);

    for (uint k = 0; k < insn_count; ++k) {
        const ulong at = ((ulong)insn_offset + k) * VTA_INSN_WORDS;
        const ulong w0 = insns[at];
        const ulong w1 = insns[at + 1];
        switch ((uint)FIELD(MEM, OPCODE, w0, w1)) {
        case VTA_OPCODE_LOAD:
            execute_load(w0, w1, uop_mem, inp_mem, wgt_mem, acc_mem, uops, biases, inputs, weights);
            break;
        case VTA_OPCODE_STORE:
            execute_store(w0, w1, out_mem, outputs);
            break;
        case VTA_OPCODE_GEMM:
            execute_gemm(w0, w1, uop_mem, inp_mem, wgt_mem, acc_mem, out_mem);
            break;
        case VTA_OPCODE_ALU:
            execute_alu(w0, w1, uop_mem, acc_mem, out_mem);
            break;
        default:
            break; /* FINISH: no effect on data */
        }
    }
}
