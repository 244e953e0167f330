// canopy_host.hpp: the fixed runtime of programs that canopy-opt's `-t opencl-host` emits.
//
// The emitted host.cpp holds the step list of one compiled model; this header holds
// what every such program needs:
//   * errors: canopy::fail throws canopy::Error; main prints one line and exits 1;
//   * Tensor<T>: a shape and a flat row-major (C order) vector;
//   * .npy reading / writing (little-endian, C order, the dtypes below only);
//   * Card: one OpenCL device, the pool as one cl_mem passed as every kernel argument,
//     the core (vta_core.cl) built with the -D options the compiler baked in; every
//     OpenCL call is checked and a failure names the call and the error;
//   * host ops, bit-identical to canopy_mlir.interpreters.graph_reference /
//     tile_interpreter (same rounding, saturation and layouts).
// Build: g++ -O2 -std=c++17 -ffp-contract=off host.cpp -lOpenCL
// (-ffp-contract=off: no fused multiply-adds, so float ops round like numpy's).
#pragma once

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace canopy {

// ------------------------------------------------------------------ errors
struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

[[noreturn]] inline void fail(const std::string &message) { throw Error(message); }

inline const char *cl_error_name(cl_int code) {
    switch (code) {
#define CANOPY_CL_ERR(name) case name: return #name;
        CANOPY_CL_ERR(CL_SUCCESS)
        CANOPY_CL_ERR(CL_DEVICE_NOT_FOUND)
        CANOPY_CL_ERR(CL_DEVICE_NOT_AVAILABLE)
        CANOPY_CL_ERR(CL_COMPILER_NOT_AVAILABLE)
        CANOPY_CL_ERR(CL_MEM_OBJECT_ALLOCATION_FAILURE)
        CANOPY_CL_ERR(CL_OUT_OF_RESOURCES)
        CANOPY_CL_ERR(CL_OUT_OF_HOST_MEMORY)
        CANOPY_CL_ERR(CL_PROFILING_INFO_NOT_AVAILABLE)
        CANOPY_CL_ERR(CL_MEM_COPY_OVERLAP)
        CANOPY_CL_ERR(CL_BUILD_PROGRAM_FAILURE)
        CANOPY_CL_ERR(CL_MAP_FAILURE)
        CANOPY_CL_ERR(CL_MISALIGNED_SUB_BUFFER_OFFSET)
        CANOPY_CL_ERR(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)
        CANOPY_CL_ERR(CL_COMPILE_PROGRAM_FAILURE)
        CANOPY_CL_ERR(CL_LINKER_NOT_AVAILABLE)
        CANOPY_CL_ERR(CL_LINK_PROGRAM_FAILURE)
        CANOPY_CL_ERR(CL_INVALID_VALUE)
        CANOPY_CL_ERR(CL_INVALID_DEVICE_TYPE)
        CANOPY_CL_ERR(CL_INVALID_PLATFORM)
        CANOPY_CL_ERR(CL_INVALID_DEVICE)
        CANOPY_CL_ERR(CL_INVALID_CONTEXT)
        CANOPY_CL_ERR(CL_INVALID_QUEUE_PROPERTIES)
        CANOPY_CL_ERR(CL_INVALID_COMMAND_QUEUE)
        CANOPY_CL_ERR(CL_INVALID_HOST_PTR)
        CANOPY_CL_ERR(CL_INVALID_MEM_OBJECT)
        CANOPY_CL_ERR(CL_INVALID_BINARY)
        CANOPY_CL_ERR(CL_INVALID_BUILD_OPTIONS)
        CANOPY_CL_ERR(CL_INVALID_PROGRAM)
        CANOPY_CL_ERR(CL_INVALID_PROGRAM_EXECUTABLE)
        CANOPY_CL_ERR(CL_INVALID_KERNEL_NAME)
        CANOPY_CL_ERR(CL_INVALID_KERNEL_DEFINITION)
        CANOPY_CL_ERR(CL_INVALID_KERNEL)
        CANOPY_CL_ERR(CL_INVALID_ARG_INDEX)
        CANOPY_CL_ERR(CL_INVALID_ARG_VALUE)
        CANOPY_CL_ERR(CL_INVALID_ARG_SIZE)
        CANOPY_CL_ERR(CL_INVALID_KERNEL_ARGS)
        CANOPY_CL_ERR(CL_INVALID_WORK_DIMENSION)
        CANOPY_CL_ERR(CL_INVALID_WORK_GROUP_SIZE)
        CANOPY_CL_ERR(CL_INVALID_WORK_ITEM_SIZE)
        CANOPY_CL_ERR(CL_INVALID_GLOBAL_OFFSET)
        CANOPY_CL_ERR(CL_INVALID_EVENT_WAIT_LIST)
        CANOPY_CL_ERR(CL_INVALID_EVENT)
        CANOPY_CL_ERR(CL_INVALID_OPERATION)
        CANOPY_CL_ERR(CL_INVALID_BUFFER_SIZE)
        CANOPY_CL_ERR(CL_INVALID_GLOBAL_WORK_SIZE)
#undef CANOPY_CL_ERR
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR (no OpenCL platform: is an ICD installed / OCL_ICD_VENDORS set?)";
        default: return "unknown OpenCL error";
    }
}

inline void check_cl(cl_int code, const char *call) {
    if (code != CL_SUCCESS) {
        std::ostringstream text;
        text << call << " failed: " << cl_error_name(code) << " (" << code << ")";
        fail(text.str());
    }
}

#define CANOPY_CL(call) ::canopy::check_cl((call), #call)

// ------------------------------------------------------------------ tensors
using Shape = std::vector<int64_t>;

inline int64_t element_count(const Shape &shape) {
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    return count;
}

inline std::string shape_text(const Shape &shape) {
    std::string text = "(";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + (shape.size() == 1 ? ",)" : ")");
}

template <class T> struct Tensor {
    Shape shape;
    std::vector<T> data;
    Tensor() = default;
    explicit Tensor(Shape s) : shape(std::move(s)), data(size_t(element_count(shape))) {}
    Tensor(Shape s, const T &fill) : shape(std::move(s)), data(size_t(element_count(shape)), fill) {}
    int64_t size() const { return int64_t(data.size()); }
};

template <class T> Tensor<T> tensor_from_bytes(Shape shape, const unsigned char *bytes, size_t nbytes) {
    Tensor<T> t(std::move(shape));
    if (nbytes != t.data.size() * sizeof(T)) fail("internal: constant byte count does not match its shape");
    if (nbytes) std::memcpy(t.data.data(), bytes, nbytes);
    return t;
}

// The .npy descr of each element type (numpy's little-endian names).
template <class T> const char *npy_descr();
template <> inline const char *npy_descr<float>() { return "<f4"; }
template <> inline const char *npy_descr<int8_t>() { return "|i1"; }
template <> inline const char *npy_descr<uint8_t>() { return "|u1"; }
template <> inline const char *npy_descr<int32_t>() { return "<i4"; }
template <> inline const char *npy_descr<int64_t>() { return "<i8"; }

// ------------------------------------------------------------------ files
inline std::vector<unsigned char> read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("cannot open " + path);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// SHA-256 (FIPS 180-4) of `bytes` as lowercase hex: the manifest's checksum of every
// constant file, checked before the bytes reach the card (as the Python loader does).
inline std::string sha256_hex(const std::vector<unsigned char> &bytes) {
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::vector<unsigned char> m(bytes);
    const uint64_t bits = uint64_t(bytes.size()) * 8;
    m.push_back(0x80);
    while (m.size() % 64 != 56) m.push_back(0);
    for (int i = 7; i >= 0; --i) m.push_back(static_cast<unsigned char>(bits >> (8 * i)));
    auto rotr = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    for (size_t block = 0; block < m.size(); block += 64) {
        uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = uint32_t(m[block + 4 * i]) << 24 | uint32_t(m[block + 4 * i + 1]) << 16 |
                   uint32_t(m[block + 4 * i + 2]) << 8 | uint32_t(m[block + 4 * i + 3]);
        for (int i = 16; i < 64; ++i) {
            uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    static const char *hex = "0123456789abcdef";
    std::string out;
    for (uint32_t word : h)
        for (int i = 28; i >= 0; i -= 4) out += hex[(word >> i) & 0xf];
    return out;
}

inline std::string header_value(const std::string &header, const std::string &key) {
    size_t at = header.find("'" + key + "'");
    if (at == std::string::npos) return "";
    at = header.find(':', at);
    if (at == std::string::npos) return "";
    ++at;
    while (at < header.size() && header[at] == ' ') ++at;
    if (header[at] == '\'') {
        size_t end = header.find('\'', at + 1);
        return header.substr(at + 1, end - at - 1);
    }
    if (header[at] == '(') return header.substr(at, header.find(')', at) - at + 1);
    size_t end = header.find_first_of(",}", at);
    return header.substr(at, end - at);
}

inline Shape parse_shape(const std::string &text, const std::string &path) {
    Shape shape;
    std::string digits;
    for (char c : text) {
        if (c >= '0' && c <= '9') digits += c;
        else if (!digits.empty()) { shape.push_back(std::stoll(digits)); digits.clear(); }
    }
    if (text.empty() || text[0] != '(') fail(path + ": the .npy header has no shape");
    return shape;
}

// Reads a .npy file (format 1.x/2.x, C order) holding exactly `shape` of T.
template <class T> Tensor<T> read_npy(const std::string &path, const Shape &shape, const std::string &name) {
    std::vector<unsigned char> bytes = read_file(path);
    static const char magic[] = "\x93NUMPY";
    if (bytes.size() < 10 || std::memcmp(bytes.data(), magic, 6) != 0) fail(path + ": not a .npy file");
    size_t header_len, start;
    if (bytes[6] == 1) { header_len = bytes[8] | (bytes[9] << 8); start = 10; }
    else {
        if (bytes.size() < 12) fail(path + ": truncated .npy header");
        header_len = bytes[8] | (bytes[9] << 8) | (size_t(bytes[10]) << 16) | (size_t(bytes[11]) << 24);
        start = 12;
    }
    if (start + header_len > bytes.size()) fail(path + ": truncated .npy header");
    std::string header(bytes.begin() + long(start), bytes.begin() + long(start + header_len));
    std::string descr = header_value(header, "descr");
    if (descr != npy_descr<T>() && !(sizeof(T) == 1 && descr.substr(1) == std::string(npy_descr<T>()).substr(1)))
        fail(path + ": input '" + name + "' must have dtype " + npy_descr<T>() + ", the file holds " + descr);
    if (header_value(header, "fortran_order") != "False")
        fail(path + ": Fortran-order arrays are not supported (save a C-order array)");
    Shape got = parse_shape(header_value(header, "shape"), path);
    if (got != shape)
        fail(path + ": input '" + name + "' must have shape " + shape_text(shape) + ", the file holds " + shape_text(got));
    Tensor<T> t(shape);
    size_t nbytes = t.data.size() * sizeof(T), at = start + header_len;
    if (bytes.size() - at != nbytes)
        fail(path + ": " + std::to_string(bytes.size() - at) + " data bytes, want " + std::to_string(nbytes));
    if (nbytes) std::memcpy(t.data.data(), bytes.data() + at, nbytes);
    return t;
}

template <class T> void write_npy(const std::string &path, const Tensor<T> &t) {
    std::string shape = "(";
    for (size_t i = 0; i < t.shape.size(); ++i) shape += std::to_string(t.shape[i]) + (t.shape.size() == 1 || i + 1 < t.shape.size() ? ", " : "");
    if (t.shape.size() == 1) shape = shape.substr(0, shape.size() - 1);
    shape += ")";
    std::string header = std::string("{'descr': '") + npy_descr<T>() + "', 'fortran_order': False, 'shape': " + shape + ", }";
    size_t total = 10 + header.size() + 1;
    header += std::string((64 - total % 64) % 64, ' ') + "\n";
    std::ofstream out(path, std::ios::binary);
    if (!out) fail("cannot write " + path);
    out.write("\x93NUMPY\x01\x00", 8);
    unsigned char len[2] = {uint8_t(header.size() & 0xff), uint8_t(header.size() >> 8)};
    out.write(reinterpret_cast<const char *>(len), 2);
    out << header;
    out.write(reinterpret_cast<const char *>(t.data.data()), std::streamsize(t.data.size() * sizeof(T)));
    if (!out) fail("writing " + path + " failed");
}

// ------------------------------------------------------------------ the card
struct CardOptions {
    std::string device;        // substring of platform / device name; empty: first PoCL CPU, else first
    std::string kernel_path;   // vta_core.cl
    size_t pool_bytes;         // the program's planned pool (dma.pool_bytes)
    size_t pool_alignment;     // the config's pool alignment (where the SRAM scratch may start)
    size_t sram_bytes;         // bytes of the core's on-chip buffers
    std::string options;       // -D options (SRAM in __local memory; the pool variant adds two)
    std::string sram;          // "auto" | "local" | "pool": where the core's on-chip buffers live
};

class Card {
  public:
    explicit Card(const CardOptions &options) {
        pick_device(options.device);
        cl_ulong local = 0;
        CANOPY_CL(clGetDeviceInfo(device_, CL_DEVICE_LOCAL_MEM_SIZE, sizeof(local), &local, nullptr));
        // As runtime/card.py's sram_placement: "auto" takes local memory when it holds the
        // core's buffers, else a scratch region after the pool.
        if (options.sram != "auto" && options.sram != "local" && options.sram != "pool")
            fail("--sram must be auto, local or pool, got '" + options.sram + "'");
        if (options.sram == "local" && options.sram_bytes > local)
            fail("the core needs " + std::to_string(options.sram_bytes) + " bytes of on-chip buffers but the device has " +
                 std::to_string(local) + " bytes of local memory; use --sram pool or auto");
        std::string build = options.options;
        size_t total = std::max<size_t>(options.pool_bytes, 1);
        if (options.sram == "pool" || (options.sram == "auto" && options.sram_bytes > local)) {
            size_t a = options.pool_alignment;
            size_t scratch = (options.pool_bytes + a - 1) / a * a;
            build = options.options + " -DVTA_SRAM_IN_POOL=1 -DVTA_SRAM_POOL_OFFSET=" + std::to_string(scratch);
            total = scratch + options.sram_bytes;
            sram_ = "pool";
        }
        cl_int err;
        context_ = clCreateContext(nullptr, 1, &device_, nullptr, nullptr, &err);
        check_cl(err, "clCreateContext");
        queue_ = clCreateCommandQueue(context_, device_, 0, &err);
        check_cl(err, "clCreateCommandQueue");
        pool_ = clCreateBuffer(context_, CL_MEM_READ_WRITE, total, nullptr, &err);
        check_cl(err, "clCreateBuffer (the pool)");
        const cl_uchar zero = 0;
        CANOPY_CL(clEnqueueFillBuffer(queue_, pool_, &zero, 1, 0, total, 0, nullptr, nullptr));
        CANOPY_CL(clFinish(queue_));
        pool_total_ = total;
        build_kernel(options.kernel_path, build);
    }
    Card(const Card &) = delete;
    Card &operator=(const Card &) = delete;
    ~Card() {
        if (queue_) clFinish(queue_);
        if (kernel_) clReleaseKernel(kernel_);
        if (program_) clReleaseProgram(program_);
        if (pool_) clReleaseMemObject(pool_);
        if (queue_) clReleaseCommandQueue(queue_);
        if (context_) clReleaseContext(context_);
    }

    std::string describe() const { return device_name_ + " (core buffers in " + sram_ + " memory)"; }

    void write(size_t offset, const void *data, size_t nbytes) {
        check_span(offset, nbytes, "write");
        if (nbytes) CANOPY_CL(clEnqueueWriteBuffer(queue_, pool_, CL_TRUE, offset, nbytes, data, 0, nullptr, nullptr));
    }
    void read(size_t offset, void *data, size_t nbytes) {
        check_span(offset, nbytes, "read");
        if (nbytes) CANOPY_CL(clEnqueueReadBuffer(queue_, pool_, CL_TRUE, offset, nbytes, data, 0, nullptr, nullptr));
    }
    // Writes the file's bytes (a dma.constant) at `offset`; its size must be `nbytes` and
    // its SHA-256 `sha256` (the manifest's), so a damaged or foreign file never reaches the card.
    void write_file(size_t offset, const std::string &path, size_t nbytes, const std::string &sha256) {
        std::vector<unsigned char> bytes = read_file(path);
        if (bytes.size() != nbytes)
            fail(path + " has " + std::to_string(bytes.size()) + " bytes, the program expects " +
                 std::to_string(nbytes) + " (an artifact of another compile?)");
        const std::string actual = sha256_hex(bytes);
        if (actual != sha256)
            fail(path + ": sha256 " + actual + " does not match the manifest's " + sha256 +
                 " (a damaged file, or an artifact of another compile)");
        write(offset, bytes.data(), bytes.size());
    }
    template <class T> void write_tensor(size_t offset, const Tensor<T> &t) { write(offset, t.data.data(), t.data.size() * sizeof(T)); }
    template <class T> Tensor<T> read_tensor(size_t offset, const Shape &shape) {
        Tensor<T> t(shape);
        read(offset, t.data.data(), t.data.size() * sizeof(T));
        return t;
    }

    // An i32 result the core stored as four byte planes (plane k: bits 8k..8k+7 of every
    // element, planes one after the other; dma.copy_to_host ... byte_planes).
    Tensor<int32_t> read_byte_planes(size_t offset, const Shape &shape) {
        Tensor<int32_t> t(shape);
        const size_t n = t.data.size();
        std::vector<uint8_t> planes(4 * n);
        read(offset, planes.data(), planes.size());
        for (size_t i = 0; i < n; ++i) {
            uint32_t word = 0;
            for (size_t k = 0; k < 4; ++k) word |= uint32_t(planes[k * n + i]) << (8 * k);
            t.data[i] = int32_t(word);
        }
        return t;
    }

    // Enqueues instructions [first, first + count) (absolute 16-byte indices in the pool).
    cl_event launch(cl_uint first, cl_uint count) {
        CANOPY_CL(clSetKernelArg(kernel_, 0, sizeof(cl_uint), &count));
        CANOPY_CL(clSetKernelArg(kernel_, 1, sizeof(cl_uint), &first));
        for (cl_uint i = 2; i < 8; ++i) CANOPY_CL(clSetKernelArg(kernel_, i, sizeof(cl_mem), &pool_));
        size_t one = 1;
        cl_event event = nullptr;
        CANOPY_CL(clEnqueueNDRangeKernel(queue_, kernel_, 1, nullptr, &one, &one, 0, nullptr, &event));
        return event;
    }
    void wait(cl_event event) {
        cl_int status = clWaitForEvents(1, &event);
        cl_int exec = CL_COMPLETE;
        clGetEventInfo(event, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof(exec), &exec, nullptr);
        clReleaseEvent(event);
        check_cl(status, "clWaitForEvents (a core launch)");
        if (exec < 0) check_cl(exec, "the core launch");
    }

  private:
    void pick_device(const std::string &wanted) {
        cl_uint count = 0;
        cl_int err = clGetPlatformIDs(0, nullptr, &count);
        if (err == -1001 || count == 0)
            fail("no OpenCL platform found: install one (for PoCL from pyopencl's wheel, set OCL_ICD_VENDORS "
                 "to a directory holding an .icd file with the absolute path of libpocl; see docs/opencl-host.md)");
        check_cl(err, "clGetPlatformIDs");
        std::vector<cl_platform_id> platforms(count);
        CANOPY_CL(clGetPlatformIDs(count, platforms.data(), nullptr));
        std::vector<std::pair<cl_device_id, std::string>> all;
        for (cl_platform_id platform : platforms) {
            cl_uint n = 0;
            if (clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &n) != CL_SUCCESS || n == 0) continue;
            std::vector<cl_device_id> devices(n);
            CANOPY_CL(clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, n, devices.data(), nullptr));
            char pname[256] = {0}, dname[256] = {0};
            CANOPY_CL(clGetPlatformInfo(platform, CL_PLATFORM_NAME, sizeof(pname) - 1, pname, nullptr));
            for (cl_device_id d : devices) {
                CANOPY_CL(clGetDeviceInfo(d, CL_DEVICE_NAME, sizeof(dname) - 1, dname, nullptr));
                cl_device_type type = 0;
                CANOPY_CL(clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof(type), &type, nullptr));
                std::string text = std::string(pname) + " / " + dname + ((type & CL_DEVICE_TYPE_CPU) ? " / CPU" : (type & CL_DEVICE_TYPE_GPU) ? " / GPU" : " / other");
                all.emplace_back(d, text);
            }
        }
        if (all.empty()) fail("no OpenCL device found on any platform");
        auto lower = [](std::string s) { for (char &c : s) c = char(std::tolower(c)); return s; };
        std::string needle = lower(wanted.empty() ? "portable computing language" : wanted);
        for (auto &entry : all) {
            if (lower(entry.second).find(needle) != std::string::npos && (!wanted.empty() || entry.second.find("CPU") != std::string::npos)) {
                device_ = entry.first;
                device_name_ = entry.second;
                return;
            }
        }
        if (wanted.empty()) { device_ = all[0].first; device_name_ = all[0].second; return; }
        std::string listing;
        for (auto &entry : all) listing += "\n  " + entry.second;
        fail("no OpenCL device matches '" + wanted + "'; devices:" + listing);
    }

    void build_kernel(const std::string &path, const std::string &options) {
        std::vector<unsigned char> bytes = read_file(path);
        std::string source(bytes.begin(), bytes.end());
        const char *text = source.c_str();
        size_t length = source.size();
        cl_int err;
        program_ = clCreateProgramWithSource(context_, 1, &text, &length, &err);
        check_cl(err, "clCreateProgramWithSource");
        err = clBuildProgram(program_, 1, &device_, options.c_str(), nullptr, nullptr);
        if (err != CL_SUCCESS) {
            size_t size = 0;
            clGetProgramBuildInfo(program_, device_, CL_PROGRAM_BUILD_LOG, 0, nullptr, &size);
            std::string log(size, '\0');
            clGetProgramBuildInfo(program_, device_, CL_PROGRAM_BUILD_LOG, size, &log[0], nullptr);
            fail("clBuildProgram of " + path + " failed: " + cl_error_name(err) + "; build log:\n" + log);
        }
        kernel_ = clCreateKernel(program_, "vta_core", &err);
        check_cl(err, "clCreateKernel(vta_core)");
    }

    void check_span(size_t offset, size_t nbytes, const char *what) const {
        if (offset + nbytes > pool_total_)
            fail(std::string("internal: ") + what + " of bytes [" + std::to_string(offset) + ", " +
                 std::to_string(offset + nbytes) + ") outside the " + std::to_string(pool_total_) + "-byte pool");
    }

    cl_device_id device_ = nullptr;
    std::string device_name_;
    std::string sram_ = "local";
    cl_context context_ = nullptr;
    cl_command_queue queue_ = nullptr;
    cl_mem pool_ = nullptr;
    cl_program program_ = nullptr;
    cl_kernel kernel_ = nullptr;
    size_t pool_total_ = 0;
};

// ------------------------------------------------------------------ host ops
// Each mirrors its graph_reference / tile_interpreter function; shapes, attributes and
// operand types were checked when the program was emitted, so only data-dependent
// errors (NaN to quantize, 64-bit overflow, non-zero padding) are checked here.

__extension__ typedef __int128 int128;  // GCC / clang: exact overflow checks

template <class T> int64_t max_abs(const Tensor<T> &t) {
    int64_t m = 0;
    for (T v : t.data) m = std::max<int64_t>(m, v < 0 ? -int64_t(v) : int64_t(v));
    return m;
}

template <class T> T saturate_to(double v) {
    const double lo = double(std::numeric_limits<T>::min()), hi = double(std::numeric_limits<T>::max());
    return T(std::min(std::max(v, lo), hi));
}

template <class T> T saturate_to_i64(int64_t v) {
    const int64_t lo = int64_t(std::numeric_limits<T>::min()), hi = int64_t(std::numeric_limits<T>::max());
    return T(std::min(std::max(v, lo), hi));
}

// Index of `flat`'s coordinate along an axis with `inner` = product of the later extents.
inline int64_t channel_of(int64_t flat, int64_t inner, int64_t channels) { return (flat / inner) % channels; }

inline int64_t inner_extent(const Shape &shape, int64_t axis) {
    int64_t inner = 1;
    for (size_t d = size_t(axis) + 1; d < shape.size(); ++d) inner *= shape[d];
    return inner;
}

// graph.quantize_linear: saturate(rint(x / scale) + zero_point), round half to even;
// float32 input divides in float32, integer input in float64. Scale / zero point hold one
// value or one per index of `axis`.
template <class TIn, class TOut>
Tensor<TOut> quantize_linear(const Tensor<TIn> &x, const Tensor<float> &scale, const Tensor<TOut> *zero_point, int64_t axis) {
    Tensor<TOut> y(x.shape);
    int64_t inner = inner_extent(x.shape, axis), channels = x.shape.empty() ? 1 : x.shape[size_t(axis)];
    for (int64_t i = 0; i < x.size(); ++i) {
        int64_t c = channel_of(i, inner, channels);
        float s = scale.data[scale.size() == 1 ? 0 : size_t(c)];
        double rounded;
        if constexpr (std::is_same<TIn, float>::value) {
            float q = x.data[size_t(i)] / s;
            if (std::isnan(q)) fail("graph.quantize_linear: input / scale contains NaN, which has no quantized value");
            rounded = double(std::nearbyint(q));
        } else {
            double q = double(x.data[size_t(i)]) / double(s);
            if (std::isnan(q)) fail("graph.quantize_linear: input / scale contains NaN, which has no quantized value");
            rounded = std::nearbyint(q);
        }
        if (zero_point) rounded += double(zero_point->data[zero_point->size() == 1 ? 0 : size_t(c)]);
        y.data[size_t(i)] = saturate_to<TOut>(rounded);
    }
    return y;
}

// graph.dequantize_linear: (float32(x) - float32(zero_point)) * scale, in float32.
template <class TIn>
Tensor<float> dequantize_linear(const Tensor<TIn> &x, const Tensor<float> &scale, const Tensor<TIn> *zero_point, int64_t axis) {
    Tensor<float> y(x.shape);
    int64_t inner = inner_extent(x.shape, axis), channels = x.shape.empty() ? 1 : x.shape[size_t(axis)];
    for (int64_t i = 0; i < x.size(); ++i) {
        int64_t c = channel_of(i, inner, channels);
        float centered = float(x.data[size_t(i)]);
        if (zero_point) centered = centered - float(zero_point->data[zero_point->size() == 1 ? 0 : size_t(c)]);
        y.data[size_t(i)] = centered * scale.data[scale.size() == 1 ? 0 : size_t(c)];
    }
    return y;
}

// graph.requantize: clip(((x * m + (shift > 0 ? 1 << (shift - 1) : 0)) >> shift) + zp),
// exact 64-bit product, arithmetic (flooring) shift; m / shift one value or one per channel.
template <class TIn, class TOut>
Tensor<TOut> requantize(const Tensor<TIn> &x, const std::vector<int64_t> &multiplier, const std::vector<int64_t> &shift,
                        int64_t output_zero_point, int64_t axis) {
    int64_t max_m = 0, max_shift = 0;
    for (int64_t m : multiplier) max_m = std::max<int64_t>(max_m, m < 0 ? -m : m);
    for (int64_t s : shift) max_shift = std::max(max_shift, s);
    int128 worst = int128(max_abs(x)) * max_m + (int128(1) << std::max<int64_t>(0, max_shift - 1));
    if (worst >= (int128(1) << 63))
        fail("graph.requantize: x * multiplier + rounding overflows 64 bits (|x| <= " + std::to_string(max_abs(x)) + ")");
    Tensor<TOut> y(x.shape);
    bool per_tensor = multiplier.size() == 1;
    int64_t inner = per_tensor ? 1 : inner_extent(x.shape, axis), channels = per_tensor ? 1 : x.shape[size_t(axis)];
    for (int64_t i = 0; i < x.size(); ++i) {
        size_t c = per_tensor ? 0 : size_t(channel_of(i, inner, channels));
        int64_t s = shift[c];
        int64_t rounding = s > 0 ? (int64_t(1) << (s - 1)) : 0;
        int64_t v = (int64_t(x.data[size_t(i)]) * multiplier[c] + rounding) >> s;
        y.data[size_t(i)] = saturate_to_i64<TOut>(v + output_zero_point);
    }
    return y;
}

// Wraps an integer to T as numpy's astype does (two's complement); floats pass through.
template <class T, class W> T wrap_to(W v) {
    if constexpr (std::is_integral<T>::value) {
        using U = typename std::make_unsigned<T>::type;
        return T(U(uint64_t(int64_t(v))));
    } else {
        return T(v);
    }
}

// graph.add (and friends): numpy broadcasting; integers wrap, float32 adds in float32.
template <class T, class F>
Tensor<T> broadcast_binary(const Tensor<T> &a, const Tensor<T> &b, const Shape &out_shape, F f) {
    Tensor<T> y(out_shape);
    size_t rank = out_shape.size();
    auto strides_for = [&](const Shape &shape) {
        std::vector<int64_t> strides(rank, 0);
        int64_t stride = 1;
        for (size_t k = 0; k < shape.size(); ++k) {
            size_t d = shape.size() - 1 - k, o = rank - 1 - k;
            strides[o] = shape[d] == 1 ? 0 : stride;
            stride *= shape[d];
        }
        return strides;
    };
    std::vector<int64_t> sa = strides_for(a.shape), sb = strides_for(b.shape), index(rank, 0);
    int64_t ia = 0, ib = 0;
    for (int64_t i = 0; i < y.size(); ++i) {
        y.data[size_t(i)] = f(a.data[size_t(ia)], b.data[size_t(ib)]);
        for (size_t d = rank; d-- > 0;) {
            ia += sa[d]; ib += sb[d];
            if (++index[d] < out_shape[d]) break;
            ia -= sa[d] * out_shape[d]; ib -= sb[d] * out_shape[d];
            index[d] = 0;
        }
    }
    return y;
}

template <class T> Tensor<T> add(const Tensor<T> &a, const Tensor<T> &b, const Shape &out_shape) {
    return broadcast_binary(a, b, out_shape, [](T x, T y) {
        if constexpr (std::is_integral<T>::value) return wrap_to<T>(int64_t(x) + int64_t(y));
        else return T(x + y);
    });
}

template <class T> Tensor<T> reshape(Tensor<T> x, const Shape &shape) {
    x.shape = shape;
    return x;
}

template <class T> Tensor<T> relu(const Tensor<T> &x) {
    Tensor<T> y(x.shape);
    for (int64_t i = 0; i < x.size(); ++i) y.data[size_t(i)] = std::max(x.data[size_t(i)], T(0));
    return y;
}

// graph.conv_integer: exact conv(x - x_zp, w - w_zp) in int64, wrapped to int32; NCHW /
// OIHW, pads [top, left, bottom, right] with real zero; w_zp one value or one per output.
template <class TX, class TW>
Tensor<int32_t> conv_integer(const Tensor<TX> &x, const Tensor<TW> &w, const Tensor<TX> *x_zero_point,
                             const Tensor<TW> *w_zero_point, const Shape &out_shape, const std::vector<int64_t> &strides,
                             const std::vector<int64_t> &pads, const std::vector<int64_t> &dilations, int64_t group) {
    const int64_t n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
    const int64_t o = w.shape[0], cg = w.shape[1], kh = w.shape[2], kw = w.shape[3];
    const int64_t oh = out_shape[2], ow = out_shape[3], per_group = o / group;
    const int64_t xzp = x_zero_point ? int64_t(x_zero_point->data[0]) : 0;
    Tensor<int32_t> y(out_shape);
    std::vector<int64_t> acc(size_t(oh * ow));
    for (int64_t b = 0; b < n; ++b) {
        for (int64_t oc = 0; oc < o; ++oc) {
            const int64_t g = oc / per_group;
            const int64_t wzp = w_zero_point ? int64_t(w_zero_point->data[w_zero_point->size() == 1 ? 0 : size_t(oc)]) : 0;
            std::fill(acc.begin(), acc.end(), 0);
            for (int64_t ic = 0; ic < cg; ++ic) {
                const TX *plane = x.data.data() + ((b * c + g * cg + ic) * h) * wd;
                for (int64_t ki = 0; ki < kh; ++ki) {
                    for (int64_t kj = 0; kj < kw; ++kj) {
                        const int64_t wv = int64_t(w.data[size_t(((oc * cg + ic) * kh + ki) * kw + kj)]) - wzp;
                        if (wv == 0) continue;
                        for (int64_t yi = 0; yi < oh; ++yi) {
                            const int64_t row = yi * strides[0] - pads[0] + ki * dilations[0];
                            if (row < 0 || row >= h) continue;
                            for (int64_t xj = 0; xj < ow; ++xj) {
                                const int64_t col = xj * strides[1] - pads[1] + kj * dilations[1];
                                if (col < 0 || col >= wd) continue;
                                acc[size_t(yi * ow + xj)] += (int64_t(plane[row * wd + col]) - xzp) * wv;
                            }
                        }
                    }
                }
            }
            int32_t *out = y.data.data() + (b * o + oc) * oh * ow;
            for (int64_t i = 0; i < oh * ow; ++i) out[i] = wrap_to<int32_t>(acc[size_t(i)]);
        }
    }
    return y;
}

// graph.max_pool (2-D): the maximum of each window's taps inside the input (padding and
// ceil-mode overhang never win; a window without taps was refused at emit time).
template <class T>
Tensor<T> max_pool(const Tensor<T> &x, const Shape &out_shape, const std::vector<int64_t> &kernel,
                   const std::vector<int64_t> &strides, const std::vector<int64_t> &pads, const std::vector<int64_t> &dilations) {
    const int64_t planes = x.shape[0] * x.shape[1], h = x.shape[2], wd = x.shape[3];
    const int64_t oh = out_shape[2], ow = out_shape[3];
    Tensor<T> y(out_shape);
    for (int64_t p = 0; p < planes; ++p) {
        const T *plane = x.data.data() + p * h * wd;
        for (int64_t yi = 0; yi < oh; ++yi) {
            for (int64_t xj = 0; xj < ow; ++xj) {
                bool any = false;
                T best = T(0);
                for (int64_t ki = 0; ki < kernel[0]; ++ki) {
                    const int64_t row = yi * strides[0] - pads[0] + ki * dilations[0];
                    if (row < 0 || row >= h) continue;
                    for (int64_t kj = 0; kj < kernel[1]; ++kj) {
                        const int64_t col = xj * strides[1] - pads[1] + kj * dilations[1];
                        if (col < 0 || col >= wd) continue;
                        const T v = plane[row * wd + col];
                        if (!any || v > best || (std::is_floating_point<T>::value && v != v)) best = v;
                        any = true;
                    }
                }
                y.data[size_t((p * oh + yi) * ow + xj)] = best;
            }
        }
    }
    return y;
}

// graph.pad, constant mode: out[o] = x[o - begin] inside x, else `value` (negative pads crop).
template <class T> Tensor<T> pad_constant(const Tensor<T> &x, const Shape &out_shape, const std::vector<int64_t> &begins, T value) {
    Tensor<T> y(out_shape, value);
    const size_t rank = out_shape.size();
    std::vector<int64_t> index(rank, 0), xstride(rank, 1);
    for (size_t d = rank; d-- > 1;) xstride[d - 1] = xstride[d] * x.shape[d];
    for (int64_t i = 0; i < y.size(); ++i) {
        int64_t at = 0;
        bool inside = true;
        for (size_t d = 0; d < rank; ++d) {
            const int64_t src = index[d] - begins[d];
            if (src < 0 || src >= x.shape[d]) { inside = false; break; }
            at += src * xstride[d];
        }
        if (inside) y.data[size_t(i)] = x.data[size_t(at)];
        for (size_t d = rank; d-- > 0;) {
            if (++index[d] < out_shape[d]) break;
            index[d] = 0;
        }
    }
    return y;
}

// tile.pack: the NCHW tensor [l0, l1, d2, d3], zero-padded to [p0, p1, d2, d3], as the
// blocked [p0/b0, p1/b1, d2, d3, b0, b1] (tile_interpreter's transpose (0, 2, 4, 5, 1, 3)).
template <class T> Tensor<T> pack(const Tensor<T> &x, const Shape &blocked) {
    const int64_t n0 = blocked[0], n1 = blocked[1], d2 = blocked[2], d3 = blocked[3], b0 = blocked[4], b1 = blocked[5];
    const int64_t l0 = x.shape[0], l1 = x.shape[1];
    Tensor<T> y(blocked, T(0));
    for (int64_t i0 = 0; i0 < n0; ++i0)
        for (int64_t j0 = 0; j0 < b0; ++j0) {
            const int64_t a = i0 * b0 + j0;
            if (a >= l0) continue;
            for (int64_t i1 = 0; i1 < n1; ++i1)
                for (int64_t j1 = 0; j1 < b1; ++j1) {
                    const int64_t ch = i1 * b1 + j1;
                    if (ch >= l1) continue;
                    for (int64_t s = 0; s < d2 * d3; ++s)
                        y.data[size_t((((i0 * n1 + i1) * d2 * d3 + s) * b0 + j0) * b1 + j1)] = x.data[size_t((a * l1 + ch) * d2 * d3 + s)];
                }
        }
    return y;
}

// tile.unpack: the inverse of pack; a non-zero padding element is an error (the blocked
// types promise zero padding, as tile_interpreter.unpack_array checks).
template <class T> Tensor<T> unpack(const Tensor<T> &x, const Shape &logical) {
    const int64_t n0 = x.shape[0], n1 = x.shape[1], d2 = x.shape[2], d3 = x.shape[3], b0 = x.shape[4], b1 = x.shape[5];
    const int64_t l0 = logical[0], l1 = logical[1];
    Tensor<T> y(logical);
    for (int64_t i0 = 0; i0 < n0; ++i0)
        for (int64_t i1 = 0; i1 < n1; ++i1)
            for (int64_t s = 0; s < d2 * d3; ++s)
                for (int64_t j0 = 0; j0 < b0; ++j0)
                    for (int64_t j1 = 0; j1 < b1; ++j1) {
                        const int64_t a = i0 * b0 + j0, ch = i1 * b1 + j1;
                        const T v = x.data[size_t((((i0 * n1 + i1) * d2 * d3 + s) * b0 + j0) * b1 + j1)];
                        if (a < l0 && ch < l1) y.data[size_t((a * l1 + ch) * d2 * d3 + s)] = v;
                        else if (v != T(0))
                            fail("tile.unpack: the padding of a blocked value read from the card is not zero");
                    }
    return y;
}

// tile.pack / tile.unpack of a grouped !tile.wgt: the dense-equivalent weight (zero
// outside each output's group) in each output block's `reduction` blocks from starts[ob]
// (tile_interpreter._pack_grouped / _unpack_grouped). `logical` is [O, C/G, KH, KW].
// Visits every element of the blocked weight [OB, R, KH, KW, BO, BI] with its index in
// the logical [O, C/G, KH, KW] weight, or -1 where the blocked element is padding.
template <class Visit>
void for_each_grouped(const Shape &blocked, const Shape &logical, const std::vector<int64_t> &starts,
                      int64_t groups, Visit visit) {
    const int64_t ob_n = blocked[0], red = blocked[1], kk = blocked[2] * blocked[3], bo = blocked[4], bi = blocked[5];
    const int64_t o = logical[0], pg = logical[1], per_out = o / groups;
    for (int64_t ob = 0; ob < ob_n; ++ob)
        for (int64_t r = 0; r < red; ++r)
            for (int64_t s = 0; s < kk; ++s)
                for (int64_t j = 0; j < bo; ++j)
                    for (int64_t i = 0; i < bi; ++i) {
                        const int64_t oc = ob * bo + j, ic = (starts[size_t(ob)] + r) * bi + i;
                        const int64_t local = oc < o ? ic - (oc / per_out) * pg : -1;
                        const bool inside = local >= 0 && local < pg;
                        visit(size_t((((ob * red + r) * kk + s) * bo + j) * bi + i),
                              inside ? int64_t((oc * pg + local) * kk + s) : int64_t(-1));
                    }
}

template <class T>
Tensor<T> pack_grouped(const Tensor<T> &x, const Shape &blocked, const std::vector<int64_t> &starts, int64_t groups) {
    Tensor<T> y(blocked, T(0));
    for_each_grouped(blocked, x.shape, starts, groups, [&](size_t b, int64_t l) {
        if (l >= 0) y.data[b] = x.data[size_t(l)];
    });
    return y;
}

template <class T>
Tensor<T> unpack_grouped(const Tensor<T> &x, const Shape &logical, const std::vector<int64_t> &starts, int64_t groups) {
    Tensor<T> y(logical, T(0));
    for_each_grouped(x.shape, logical, starts, groups, [&](size_t b, int64_t l) {
        if (l >= 0) y.data[size_t(l)] = x.data[b];
        else if (x.data[b] != T(0)) fail("tile.unpack: the padding of a grouped weight is not zero");
    });
    return y;
}

// ------------------------------------------------------------------ tile compute ops
// The core's ALU (canopy_mlir.alu_semantics): int64 arithmetic on int32 values, result
// wrapped to int32; SHR by s >= 0 is arithmetic right by min(s, 31), by s < 0 left by
// min(-s, 32) (wrapping).
enum AluOpcode { kAluMin, kAluMax, kAluAdd, kAluMul, kAluShr };

struct AluStep {
    AluOpcode opcode;
    bool immediate;  // true: `value` is the immediate; false: `value` indexes the tail operands
    int64_t value;
};

inline int32_t wrap32(int64_t v) { return int32_t(uint32_t(uint64_t(v))); }

inline int32_t alu_apply(AluOpcode opcode, int64_t a, int64_t b) {
    switch (opcode) {
        case kAluMin: return wrap32(std::min(a, b));
        case kAluMax: return wrap32(std::max(a, b));
        case kAluAdd: return wrap32(a + b);
        case kAluMul: return wrap32(a * b);
        case kAluShr:
            if (b >= 0) return wrap32(a >> std::min<int64_t>(b, 31));
            return wrap32(int64_t(uint64_t(a) << std::min<int64_t>(-b, 32)));
    }
    fail("internal: unknown ALU opcode");
}

// A tail operand as int64 in the result's blocked layout: per channel (padded to the
// result's channel blocks; padding channels 0) or a full blocked tensor (i8 sign-extended).
struct TailOperand {
    bool per_channel;
    std::vector<int64_t> values;
};

template <class T> TailOperand channel_operand(const Tensor<T> &t, int64_t padded_channels) {
    TailOperand op{true, std::vector<int64_t>(size_t(padded_channels), 0)};
    for (int64_t i = 0; i < t.size() && i < padded_channels; ++i) op.values[size_t(i)] = int64_t(t.data[size_t(i)]);
    return op;
}

template <class T> TailOperand full_operand(const Tensor<T> &t) {
    TailOperand op{false, std::vector<int64_t>(t.data.begin(), t.data.end())};
    return op;
}

// Blocked result geometry [NB, CB, H, W, BN, BC] and its logical extents n x c.
struct BlockedResult {
    Shape shape;
    int64_t n, c;
};

// Runs the tail on int32 accumulators `acc` (blocked result layout), then finishes as
// tile_interpreter._finish: low bits of the result type, padding batches / channels zero.
template <class TOut>
Tensor<TOut> finish_tail(const std::vector<int32_t> &acc, const BlockedResult &result, const std::vector<AluStep> &steps,
                         const std::vector<TailOperand> &operands) {
    const Shape &s = result.shape;
    const int64_t nb = s[0], cb = s[1], hw = s[2] * s[3], bn = s[4], bc = s[5];
    for (const AluStep &step : steps)
        if (!step.immediate && (step.value < 0 || size_t(step.value) >= operands.size()))
            fail("internal: a tail step names a missing operand");
    for (const TailOperand &op : operands)
        if (!op.per_channel && int64_t(op.values.size()) != int64_t(acc.size()))
            fail("internal: a full-tensor tail operand's size differs from the result's");
    Tensor<TOut> y(s, TOut(0));
    for (int64_t i0 = 0; i0 < nb; ++i0)
        for (int64_t i1 = 0; i1 < cb; ++i1)
            for (int64_t p = 0; p < hw; ++p)
                for (int64_t j0 = 0; j0 < bn; ++j0)
                    for (int64_t j1 = 0; j1 < bc; ++j1) {
                        const size_t at = size_t((((i0 * cb + i1) * hw + p) * bn + j0) * bc + j1);
                        int32_t v = acc[at];
                        for (const AluStep &step : steps) {
                            int64_t b = step.value;
                            if (!step.immediate) {
                                const TailOperand &op = operands[size_t(step.value)];
                                b = op.per_channel ? op.values[size_t(i1 * bc + j1)] : op.values[at];
                            }
                            v = alu_apply(step.opcode, int64_t(v), b);
                        }
                        if (i0 * bn + j0 < result.n && i1 * bc + j1 < result.c) y.data[at] = wrap_to<TOut>(int64_t(v));
                    }
    return y;
}

// tile.conv: out[n, ob, y, x, bn, bo] = sum over r, dy, dx, bi of
// x[n, starts[ob] + r, y*sh - top + dy*dh, x*sw - left + dx*dw, bn, bi] * w[ob, r, dy, dx, bo, bi]
// exact in int64, wrapped to int32 (tile_interpreter.conv_blocked: the tile schedule does
// not change an exact sum), then the tail.
template <class TOut, class TX, class TW>
Tensor<TOut> tile_conv(const Tensor<TX> &x, const Tensor<TW> &w, const std::vector<int64_t> &starts,
                       const std::vector<int64_t> &strides, const std::vector<int64_t> &pads,
                       const std::vector<int64_t> &dilations, const BlockedResult &result,
                       const std::vector<AluStep> &steps, const std::vector<TailOperand> &operands) {
    const int64_t nb = x.shape[0], cb = x.shape[1], h = x.shape[2], wd = x.shape[3], bn = x.shape[4], bi = x.shape[5];
    const int64_t obn = w.shape[0], red = w.shape[1], kh = w.shape[2], kw = w.shape[3], bo = w.shape[4];
    const int64_t oh = result.shape[2], ow = result.shape[3];
    if (w.shape[5] != bi || result.shape[1] != obn || result.shape[5] != bo || result.shape[0] != nb || result.shape[4] != bn)
        fail("internal: tile.conv operand blocks do not match");
    std::vector<int32_t> acc(size_t(element_count(result.shape)));
    std::vector<int64_t> sums(size_t(bn * bo));
    for (int64_t n = 0; n < nb; ++n)
        for (int64_t ob = 0; ob < obn; ++ob)
            for (int64_t yi = 0; yi < oh; ++yi)
                for (int64_t xj = 0; xj < ow; ++xj) {
                    std::fill(sums.begin(), sums.end(), 0);
                    for (int64_t r = 0; r < red; ++r) {
                        const int64_t ib = starts[size_t(ob)] + r;
                        if (ib < 0 || ib >= cb) fail("internal: tile.conv reads past the input's channel blocks");
                        for (int64_t dy = 0; dy < kh; ++dy) {
                            const int64_t row = yi * strides[0] - pads[0] + dy * dilations[0];
                            if (row < 0 || row >= h) continue;
                            for (int64_t dx = 0; dx < kw; ++dx) {
                                const int64_t col = xj * strides[1] - pads[1] + dx * dilations[1];
                                if (col < 0 || col >= wd) continue;
                                const TX *xv = x.data.data() + (((n * cb + ib) * h + row) * wd + col) * bn * bi;
                                const TW *wv = w.data.data() + (((ob * red + r) * kh + dy) * kw + dx) * bo * bi;
                                for (int64_t b = 0; b < bn; ++b)
                                    for (int64_t o = 0; o < bo; ++o) {
                                        int64_t s = 0;
                                        for (int64_t i = 0; i < bi; ++i) s += int64_t(xv[b * bi + i]) * int64_t(wv[o * bi + i]);
                                        sums[size_t(b * bo + o)] += s;
                                    }
                            }
                        }
                    }
                    int32_t *out = acc.data() + (((n * obn + ob) * oh + yi) * ow + xj) * bn * bo;
                    for (int64_t k = 0; k < bn * bo; ++k) out[k] = wrap32(sums[size_t(k)]);
                }
    return finish_tail<TOut>(acc, result, steps, operands);
}

// tile.pool: max (padding never wins: it counts as the minimum int32) or sum (padding
// adds 0; 32-bit wrap-around) over kernel windows of a blocked input, then the tail.
template <class TOut, class TX>
Tensor<TOut> tile_pool(const Tensor<TX> &x, bool is_max, const std::vector<int64_t> &kernel, const std::vector<int64_t> &strides,
                       const std::vector<int64_t> &pads, const BlockedResult &result, const std::vector<AluStep> &steps,
                       const std::vector<TailOperand> &operands) {
    const int64_t nb = x.shape[0], cb = x.shape[1], h = x.shape[2], wd = x.shape[3], inner = x.shape[4] * x.shape[5];
    const int64_t oh = result.shape[2], ow = result.shape[3];
    std::vector<int32_t> acc(size_t(element_count(result.shape)));
    const int64_t fill = is_max ? int64_t(std::numeric_limits<int32_t>::min()) : 0;
    for (int64_t plane = 0; plane < nb * cb; ++plane)
        for (int64_t yi = 0; yi < oh; ++yi)
            for (int64_t xj = 0; xj < ow; ++xj)
                for (int64_t k = 0; k < inner; ++k) {
                    int64_t v = 0;
                    for (int64_t dy = 0; dy < kernel[0]; ++dy)
                        for (int64_t dx = 0; dx < kernel[1]; ++dx) {
                            const int64_t row = yi * strides[0] - pads[0] + dy, col = xj * strides[1] - pads[1] + dx;
                            const bool inside = row >= 0 && row < h && col >= 0 && col < wd;
                            const int64_t tap = inside ? int64_t(x.data[size_t(((plane * h + row) * wd + col) * inner + k)]) : fill;
                            if (dy == 0 && dx == 0) v = tap;
                            else v = is_max ? std::max(v, tap) : int64_t(wrap32(v + tap));
                        }
                    acc[size_t(((plane * oh + yi) * ow + xj) * inner + k)] = wrap32(v);
                }
    return finish_tail<TOut>(acc, result, steps, operands);
}

// tile.alu: the tail on each element of a blocked ACC-side input.
template <class TOut, class TX>
Tensor<TOut> tile_alu(const Tensor<TX> &x, const BlockedResult &result, const std::vector<AluStep> &steps,
                      const std::vector<TailOperand> &operands) {
    std::vector<int32_t> acc(x.data.size());
    for (size_t i = 0; i < acc.size(); ++i) acc[i] = wrap32(int64_t(x.data[i]));
    return finish_tail<TOut>(acc, result, steps, operands);
}

// ------------------------------------------------------------------ command line
struct Arguments {
    std::string artifact, kernel, device, sram = "auto";
    int repeat = 1;
    std::vector<std::string> inputs, outputs;
};

inline std::string directory_of(const std::string &path) {
    size_t slash = path.rfind('/');
    return slash == std::string::npos ? "." : path.substr(0, slash);
}

inline Arguments parse_arguments(int argc, char **argv, const std::vector<std::string> &input_names,
                                 const std::vector<std::string> &output_names) {
    Arguments args;
    std::string here = directory_of(argv[0]);
    args.artifact = here + "/artifact";
    args.kernel = here + "/vta_core.cl";
    if (const char *env = std::getenv("CANOPY_OPENCL_DEVICE")) args.device = env;
    std::vector<std::string> positional;
    std::string usage = std::string("usage: ") + argv[0] + " [--artifact DIR] [--kernel vta_core.cl] [--device SUBSTRING] [--sram auto|local|pool] [--repeat N]";
    for (auto &n : input_names) usage += " " + n + ".npy";
    for (auto &n : output_names) usage += " OUT_" + n + ".npy";
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) fail(a + " needs a value\n" + usage);
            return argv[++i];
        };
        if (a == "--artifact") args.artifact = value();
        else if (a == "--kernel") args.kernel = value();
        else if (a == "--device") args.device = value();
        else if (a == "--sram") args.sram = value();
        else if (a == "--repeat") {
            std::string v = value();
            char *end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (!end || *end || n < 1) fail("--repeat needs a positive integer, got '" + v + "'");
            args.repeat = int(n);
        } else if (a == "-h" || a == "--help") { std::printf("%s\n", usage.c_str()); std::exit(0); }
        else if (a.size() > 1 && a[0] == '-' && a != "-") fail("unknown option " + a + "\n" + usage);
        else positional.push_back(a);
    }
    if (positional.size() != input_names.size() + output_names.size())
        fail("want " + std::to_string(input_names.size()) + " input and " + std::to_string(output_names.size()) +
             " output .npy paths, got " + std::to_string(positional.size()) + "\n" + usage);
    args.inputs.assign(positional.begin(), positional.begin() + long(input_names.size()));
    args.outputs.assign(positional.begin() + long(input_names.size()), positional.end());
    return args;
}

inline double now_ms() {
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace canopy
