#pragma once

#include "tensor.h"

#include <QString>
#include <QtGlobal>

#include <functional>
#include <memory>
#include <optional>

namespace studio {

// How a forward pass multiplies its matrices. Fp32 is exact to float rounding and the default;
// Bf16 rounds the inputs of the linear layers to bfloat16 (8 significant bits) and accumulates in
// float — about twice as fast where the CPU multiplies bfloat16 natively, and approximate.
enum class Precision { Fp32, Bf16 };

QString precisionName(Precision precision); // "fp32", "bf16"
std::optional<Precision> precisionFromName(const QString &name);

// Whether this CPU multiplies bfloat16 natively (AVX512_BF16 or AMX), as oneDNN dispatches.
bool bf16Supported();
// Empty when supported; otherwise a sentence saying why bf16 is not offered.
QString bf16Unavailable();

// float → bfloat16, rounded to nearest even (NaN stays NaN); and back.
quint16 floatToBf16(float value);
float bf16ToFloat(quint16 value);
void floatsToBf16(const float *in, qint64 count, quint16 *out);

// bfloat16 weights reordered once into the blocked layout oneDNN's bf16 kernels read (pairs of
// inputs interleaved), so no product repacks them.
struct PackedWeights;

// The right operand of y = x W: K inputs × N outputs, f32 stored as Conv1D [K, N] or, when
// outByIn, as Linear [N, K]; or bf16, packed. Exactly one of f32 and bf16 is set.
struct GemmOperand {
    const float *f32 = nullptr;
    const PackedWeights *bf16 = nullptr;
    int inputs = 0;  // K
    int outputs = 0; // N
    bool outByIn = false;
};

// y (M, N) = x (M, K) · W (K, N) + bias (N, may be null), on oneDNN's matrix-multiply kernels with
// `threads` threads. A bf16 operand rounds x to bfloat16 too and accumulates in float.
void gemm(const Eigen::Ref<const Matrix> &x, const GemmOperand &w, const float *bias, Matrix &y, int threads);

// Packed bfloat16 copies of a model's weights, made once on first use and kept with the model.
// Safe to use from several threads.
class Bf16Weights {
public:
    Bf16Weights();
    ~Bf16Weights();
    // The packed copy of the tensor at `source`, a K × N operand stored as `outByIn` says; `fill`
    // writes its K·N values as bfloat16 in that storage order, the first time only.
    const PackedWeights *of(const void *source, int inputs, int outputs, bool outByIn,
                            const std::function<void(quint16 *out)> &fill);
    qint64 bytes() const;

private:
    struct Store;
    std::unique_ptr<Store> m_store;
};

} // namespace studio
