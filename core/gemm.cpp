#include "gemm.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <QCoreApplication>

#include <bit>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

// libgomp's, which oneDNN threads with (declared here: core is not built with -fopenmp).
extern "C" void omp_set_num_threads(int count);

namespace studio {

QString precisionName(Precision precision)
{
    return precision == Precision::Bf16 ? QStringLiteral("bf16") : QStringLiteral("fp32");
}

std::optional<Precision> precisionFromName(const QString &name)
{
    if (name == QLatin1String("fp32"))
        return Precision::Fp32;
    if (name == QLatin1String("bf16"))
        return Precision::Bf16;
    return std::nullopt;
}

bool bf16Supported()
{
    const auto isa = unsigned(dnnl::get_effective_cpu_isa());
    return (isa & unsigned(dnnl_cpu_isa_avx512_core_bf16)) == unsigned(dnnl_cpu_isa_avx512_core_bf16);
}

QString bf16Unavailable()
{
    if (bf16Supported())
        return {};
    return QCoreApplication::translate("Precision",
        "bf16 needs a CPU that multiplies bfloat16 natively (AVX512_BF16 or AMX); this one does not, so every product is fp32.");
}

quint16 floatToBf16(float value)
{
    const auto bits = std::bit_cast<quint32>(value);
    // Round to nearest, ties to even: add 0x7fff plus the lowest kept bit, then truncate. A NaN
    // keeps its sign and top bits and is made quiet, so it stays a NaN. Branch-free, so that the
    // loop below is vectorised.
    const quint32 rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
    const quint32 quietNan = (bits >> 16) | 0x40u;
    return quint16((bits & 0x7fffffffu) > 0x7f800000u ? quietNan : rounded);
}

float bf16ToFloat(quint16 value)
{
    return std::bit_cast<float>(quint32(value) << 16);
}

void floatsToBf16(const float *in, qint64 count, quint16 *out)
{
    for (qint64 i = 0; i < count; ++i)
        out[i] = floatToBf16(in[i]);
}

struct PackedWeights {
    dnnl::memory memory;
};

namespace {

using dnnl::memory;

// The length at which the packed layout is chosen; oneDNN's bf16 kernels take the same layout
// for every length, so one copy serves all.
constexpr memory::dim kPackingRows = 256;

memory::desc plainWeights(memory::data_type type, memory::dim inputs, memory::dim outputs, bool outByIn)
{
    return memory::desc({inputs, outputs}, type, outByIn ? memory::dims{1, inputs} : memory::dims{outputs, 1});
}

dnnl::engine &cpuEngine()
{
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// One matrix-multiply primitive per shape, layout and thread count: oneDNN generates its kernel
// when the primitive is made (tens of microseconds to milliseconds), so each is made once.
struct PrimitiveKey {
    int rows, inputs, outputs, rowStride, threads;
    bool outByIn, bf16, bias;
    const PackedWeights *packed; // its layout (the same for every copy of one shape)
    auto tie() const { return std::tie(rows, inputs, outputs, rowStride, threads, outByIn, bf16, bias); }
    bool operator<(const PrimitiveKey &o) const { return tie() < o.tie(); }
};

struct Product {
    dnnl::matmul::primitive_desc descriptor;
    dnnl::matmul primitive;
};

Product productFor(const PrimitiveKey &key)
{
    static std::mutex mutex;
    static std::map<PrimitiveKey, Product> made;
    const std::lock_guard lock(mutex);
    if (const auto found = made.find(key); found != made.end())
        return found->second;
    const auto type = key.bf16 ? memory::data_type::bf16 : memory::data_type::f32;
    const memory::dim m = key.rows, k = key.inputs, n = key.outputs;
    const memory::desc source({m, k}, type, memory::dims{key.rowStride, 1});
    const memory::desc weights = key.packed ? key.packed->memory.get_desc() : plainWeights(type, k, n, key.outByIn);
    const memory::desc destination({m, n}, memory::data_type::f32, memory::dims{n, 1});
    const memory::desc bias = key.bias ? memory::desc({1, n}, memory::data_type::f32, memory::dims{n, 1}) : memory::desc();
    const dnnl::matmul::primitive_desc descriptor(dnnl::matmul::desc(source, weights, bias, destination), cpuEngine());
    // Made shapes are few (one per linear layer and length); a long session of ever new lengths
    // is bounded by dropping them all now and then.
    if (made.size() > 512)
        made.clear();
    PrimitiveKey stored = key;
    stored.packed = nullptr; // only read while the primitive is made
    return made.emplace(stored, Product{descriptor, dnnl::matmul(descriptor)}).first->second;
}

// y (rows of y, N) = source · W + bias on oneDNN; source is x as gemm prepared it.
void multiply(const void *source, int rowStride, const GemmOperand &w, const float *bias, Matrix &y, int threads)
{
    const int rows = int(y.rows());
    const bool bf16 = w.bf16 != nullptr;
    const PrimitiveKey key{rows, w.inputs, w.outputs, rowStride, threads, w.outByIn, bf16, bias != nullptr, w.bf16};
    const Product product = productFor(key);
    const auto &descriptor = product.descriptor;
    dnnl::engine &engine = cpuEngine();
    thread_local dnnl::stream stream(engine);
    // oneDNN takes non-const handles; nothing here writes to the source, weights or bias.
    const memory sourceMemory(descriptor.src_desc(), engine, const_cast<void *>(source));
    const memory weightMemory = bf16 ? w.bf16->memory : memory(descriptor.weights_desc(), engine, const_cast<float *>(w.f32));
    const memory destinationMemory(descriptor.dst_desc(), engine, y.data());
    std::unordered_map<int, memory> arguments{
        {DNNL_ARG_SRC, sourceMemory}, {DNNL_ARG_WEIGHTS, weightMemory}, {DNNL_ARG_DST, destinationMemory}};
    if (bias)
        arguments.emplace(DNNL_ARG_BIAS, memory(descriptor.bias_desc(), engine, const_cast<float *>(bias)));
    product.primitive.execute(stream, arguments);
    stream.wait();
}


} // namespace

void gemm(const Eigen::Ref<const Matrix> &x, const GemmOperand &w, const float *bias, Matrix &y, int threads)
{
    const int rows = int(x.rows());
    y.resize(rows, w.outputs);
    if (rows == 0 || w.outputs == 0)
        return;
    if (w.inputs == 0) {
        y.setZero();
        if (bias)
            y.rowwise() += Eigen::Map<const RowVector>(bias, w.outputs);
        return;
    }
    const bool bf16 = w.bf16 != nullptr;
    // bf16 products need x in bfloat16 too; the copy is small next to W (T·K against K·N).
    thread_local std::vector<quint16> roundedInput;
    const void *source = x.data();
    int rowStride = int(x.outerStride());
    if (bf16) {
        roundedInput.resize(size_t(rows) * size_t(w.inputs));
        for (int r = 0; r < rows; ++r)
            floatsToBf16(x.row(r).data(), w.inputs, roundedInput.data() + size_t(r) * size_t(w.inputs));
        source = roundedInput.data();
        rowStride = w.inputs;
    }
    omp_set_num_threads(std::max(1, threads));
    try {
        multiply(source, rowStride, w, bias, y, threads);
    } catch (const dnnl::error &e) {
        if (e.status == dnnl_out_of_memory)
            throw std::bad_alloc(); // as any other failed allocation of a run (guardAllocation)
        throw;
    }
}

struct Bf16Weights::Store {
    mutable std::mutex mutex;
    std::unordered_map<const void *, std::unique_ptr<PackedWeights>> copies;
    qint64 bytes = 0;
};

Bf16Weights::Bf16Weights() : m_store(std::make_unique<Store>()) {}
Bf16Weights::~Bf16Weights() = default;

const PackedWeights *Bf16Weights::of(const void *source, int inputs, int outputs, bool outByIn,
                                     const std::function<void(quint16 *)> &fill)
{
    const std::lock_guard lock(m_store->mutex);
    std::unique_ptr<PackedWeights> &copy = m_store->copies[source];
    if (copy)
        return copy.get();
    const memory::dim k = inputs, n = outputs;
    const auto bf16 = memory::data_type::bf16;
    std::vector<quint16> plain(size_t(k * n));
    fill(plain.data());
    // The layout oneDNN's bf16 product prefers for this shape.
    const memory::desc source16({kPackingRows, k}, bf16, memory::dims{k, 1});
    const memory::desc destination({kPackingRows, n}, memory::data_type::f32, memory::dims{n, 1});
    const memory::desc any({k, n}, bf16, memory::format_tag::any);
    const dnnl::matmul::primitive_desc chosen(dnnl::matmul::desc(source16, any, destination), cpuEngine());
    dnnl::engine &engine = cpuEngine();
    memory plainMemory(plainWeights(bf16, k, n, outByIn), engine, plain.data());
    std::optional<memory> allocated;
    try {
        allocated.emplace(chosen.weights_desc(), engine);
    } catch (const dnnl::error &e) {
        if (e.status == dnnl_out_of_memory)
            throw std::bad_alloc();
        throw;
    }
    memory &packed = *allocated;
    dnnl::stream stream(engine);
    dnnl::reorder(plainMemory, packed).execute(stream, plainMemory, packed);
    stream.wait();
    copy = std::make_unique<PackedWeights>(PackedWeights{packed});
    m_store->bytes += qint64(chosen.weights_desc().get_size());
    return copy.get();
}

qint64 Bf16Weights::bytes() const
{
    const std::lock_guard lock(m_store->mutex);
    return m_store->bytes;
}

} // namespace studio
