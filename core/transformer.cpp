#include "transformer.h"

#include "parallel.h"
#include "weightbinder.h"

#include <QElapsedTimer>

#include <unsupported/Eigen/SpecialFunctions>

#include <cmath>
#include <cstring>
#include <limits>
#include <new>

namespace studio {

void WeightRef::rowsAsFloat(int first, int count, float *out) const
{
    if (half)
        halfsToFloats(halfType, half + qint64(first) * cols * 2, qint64(count) * cols, out);
    else
        std::memcpy(out, data + qint64(first) * cols, sizeof(float) * size_t(qint64(count) * cols));
}

void WeightRef::columnsAsFloat(int first, int count, float *out) const
{
    for (int r = 0; r < rows; ++r) {
        if (half)
            halfsToFloats(halfType, half + (qint64(r) * cols + first) * 2, count, out + qint64(r) * count);
        else
            std::memcpy(out + qint64(r) * count, data + qint64(r) * cols + first, sizeof(float) * size_t(count));
    }
}

Matrix WeightRef::toMatrix() const
{
    Matrix m(rows, cols);
    rowsAsFloat(0, rows, m.data());
    return m;
}


float geluTanh(float x)
{
    // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
    constexpr float k = 0.7978845608028654f;
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

float geluErf(float x)
{
    // 0.5 x (1 + erf(x / √2))
    return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
}

void applyLinear(const LinearWeights &linear, const Eigen::Ref<const Matrix> &x, Matrix &y, const LinearRun &run)
{
    const int outputs = linear.outputs();
    const int inputs = linear.inputs();
    const float *bias = linear.bias.data && linear.bias.cols * qint64(linear.bias.rows) == outputs ? linear.bias.data : nullptr;
    GemmOperand w{nullptr, nullptr, inputs, outputs, linear.outByIn};
    const qint64 count = qint64(inputs) * outputs;
    if (run.bf16) {
        // bf16: the weights rounded to bfloat16 (a BF16 checkpoint's as they are) and packed, once.
        w.bf16 = run.bf16->of(linear.weight.isHalf() ? static_cast<const void *>(linear.weight.half) : linear.weight.data,
                              inputs, outputs, linear.outByIn, [&](quint16 *out) {
            if (linear.weight.isHalf() && linear.weight.halfType == DType::BF16) {
                std::memcpy(out, linear.weight.half, size_t(count) * sizeof(quint16));
            } else if (linear.weight.isHalf()) {
                std::vector<float> floats(static_cast<size_t>(count));
                halfsToFloats(linear.weight.halfType, linear.weight.half, count, floats.data());
                floatsToBf16(floats.data(), count, out);
            } else {
                floatsToBf16(linear.weight.data, count, out);
            }
        });
        gemm(x, w, bias, y, run.threads);
        return;
    }
    if (!linear.weight.isHalf()) {
        w.f32 = linear.weight.data;
        gemm(x, w, bias, y, run.threads);
        return;
    }
    // Half-precision weights in fp32: each block of 256 outputs is converted to float, used, dropped.
    y.resize(x.rows(), outputs);
    constexpr int kBlock = 256;
    const int blocks = (outputs + kBlock - 1) / kBlock;
    parallelFor(run.threads, blocks, [&](int begin, int end) {
        std::vector<float> scratch(size_t(kBlock) * size_t(inputs));
        Matrix part;
        for (int block = begin; block < end; ++block) {
            const int c0 = block * kBlock;
            const int width = std::min(outputs, c0 + kBlock) - c0;
            if (linear.outByIn)
                linear.weight.rowsAsFloat(c0, width, scratch.data());
            else
                linear.weight.columnsAsFloat(c0, width, scratch.data());
            const GemmOperand slice{scratch.data(), nullptr, inputs, width, linear.outByIn};
            gemm(x, slice, bias ? bias + c0 : nullptr, part, 1);
            y.middleCols(c0, width) = part;
        }
    });
}

void applyActivation(Matrix &x, Activation activation, int threads)
{
    parallelFor(threads, int(x.rows()), [&](int begin, int end) {
        auto rows = x.middleRows(begin, end - begin).array();
        switch (activation) {
        case Activation::GeluTanh: // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
            rows = 0.5f * rows * (1.0f + (0.7978845608028654f * (rows + 0.044715f * rows.cube())).tanh());
            break;
        case Activation::GeluErf: // 0.5 x (1 + erf(x / √2))
            rows = 0.5f * rows * (1.0f + (rows * 0.7071067811865476f).erf());
            break;
        case Activation::Silu: // x σ(x) = x / (1 + e^−x)
            rows = rows / (1.0f + (-rows).exp());
            break;
        case Activation::Relu: // max(0, x)
            rows = rows.max(0.0f);
            break;
        }
    });
}

void layerNorm(const LayerNormWeights &norm, double eps, Matrix &x)
{
    const auto gain = norm.gain.row();
    const auto bias = norm.bias.row();
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        auto row = x.row(t);
        const double mean = row.cast<double>().mean();
        const double variance = (row.cast<double>().array() - mean).square().mean();
        const float inverse = float(1.0 / std::sqrt(variance + eps));
        row = ((row.array() - float(mean)) * inverse * gain.array() + bias.array()).matrix();
    }
}

void rmsNorm(const WeightRef &gain, double eps, Matrix &x)
{
    const auto g = gain.row();
    for (Eigen::Index t = 0; t < x.rows(); ++t) {
        auto row = x.row(t);
        const double meanSquare = row.cast<double>().squaredNorm() / double(row.size());
        const float inverse = float(1.0 / std::sqrt(meanSquare + eps));
        row = (row.array() * inverse * g.array()).matrix();
    }
}

RotaryTable rotaryTable(const RopeConfig &rope, int tokens, int headDim)
{
    // Angles in double, so that position · frequency keeps its precision at long positions.
    const std::vector<double> frequencies = rope.inverseFrequencies(headDim);
    RotaryTable table;
    table.cos.resize(tokens, Eigen::Index(frequencies.size()));
    table.sin.resize(tokens, Eigen::Index(frequencies.size()));
    for (int t = 0; t < tokens; ++t)
        for (size_t i = 0; i < frequencies.size(); ++i) {
            const double angle = double(t) * frequencies[i];
            table.cos(t, Eigen::Index(i)) = float(std::cos(angle));
            table.sin(t, Eigen::Index(i)) = float(std::sin(angle));
        }
    return table;
}

void applyRotary(const RotaryTable &table, int heads, int headDim, Matrix &x)
{
    const int half = headDim / 2;
    for (int h = 0; h < heads; ++h) {
        auto first = x.middleCols(h * headDim, half).array();
        auto second = x.middleCols(h * headDim + half, half).array();
        const Eigen::ArrayXXf rotatedFirst = first * table.cos.array() - second * table.sin.array();
        second = second * table.cos.array() + first * table.sin.array();
        first = rotatedFirst;
    }
}

Result<std::shared_ptr<const TransformerModel>> TransformerModel::bind(const ModelConfig &config,
                                                                       std::vector<std::unique_ptr<SafetensorsFile>> files)
{
    using R = Result<std::shared_ptr<const TransformerModel>>;
    const Result<QHash<QString, TensorView>> tensors = tensorsOf(files);
    if (!tensors)
        return R::failure(tensors.error);
    std::shared_ptr<TransformerModel> model(new TransformerModel);
    if (const Status bound = model->bindTensors(config, *tensors.value); !bound)
        return R::failure(bound.error);
    model->m_files = std::move(files);
    return {std::shared_ptr<const TransformerModel>(std::move(model)), {}};
}

Result<std::shared_ptr<const TransformerModel>> TransformerModel::bind(const ModelConfig &config,
                                                                       const QHash<QString, TensorView> &tensors)
{
    using R = Result<std::shared_ptr<const TransformerModel>>;
    std::shared_ptr<TransformerModel> model(new TransformerModel);
    if (const Status bound = model->bindTensors(config, tensors); !bound)
        return R::failure(bound.error);
    return {std::shared_ptr<const TransformerModel>(std::move(model)), {}};
}

Status TransformerModel::bindTensors(const ModelConfig &config, const QHash<QString, TensorView> &tensors)
{
    TransformerModel *model = this;
    model->m_config = config;
    const ArchitectureTraits &traits = config.traits();
    const TensorNames &names = traits.names;
    WeightBinder binder(names.prefixes, traits.linearLayout, traits.norm, tensors, model->m_converted);
    const int c = config.hidden;
    const int inner = config.intermediate;
    model->m_tokenEmbedding = binder.tensor(names.tokenEmbedding, config.vocabSize, c);
    switch (traits.positions) {
    case PositionKind::Learned:
        model->m_positionEmbedding = binder.tensor(names.positionEmbedding, config.maxPositions, c);
        break;
    case PositionKind::Sinusoidal:
    case PositionKind::Rotary:
    case PositionKind::None:
        break;
    }
    if (traits.tokenTypes)
        model->m_typeEmbedding = binder.tensor(names.typeEmbedding, config.typeVocabSize, c);
    if (traits.normalisesEmbeddings)
        model->m_embeddingNorm = binder.norm(names.embeddingNorm, c);
    const int queryWidth = config.heads * config.headDim();
    const int kvWidth = config.kvHeads * config.headDim();
    for (int l = 0; l < config.layers && binder.error().isEmpty(); ++l) {
        const QString p = names.layerPrefix.arg(l);
        LayerWeights layer;
        layer.attentionNorm = binder.norm(p + names.attentionNorm, c);
        if (!names.fusedQkv.isEmpty()) {
            layer.qkv = binder.linear(p + names.fusedQkv, c, 3 * c, config.qkvBias);
        } else {
            layer.query = binder.linear(p + names.query, c, queryWidth, config.qkvBias);
            layer.key = binder.linear(p + names.key, c, kvWidth, config.qkvBias);
            layer.value = binder.linear(p + names.value, c, kvWidth, config.qkvBias);
        }
        layer.attentionOutput = binder.linear(p + names.attentionOutput, queryWidth, c, config.outputBias);
        layer.mlpNorm = binder.norm(p + names.mlpNorm, c);
        if (traits.gatedMlp)
            layer.mlpGate = binder.linear(p + names.mlpGate, c, inner, config.mlpBias);
        layer.mlpIn = binder.linear(p + names.mlpIn, c, inner, config.mlpBias);
        layer.mlpOut = binder.linear(p + names.mlpOut, inner, c, config.mlpBias);
        model->m_layers.push_back(layer);
    }
    // The output side is optional: a checkpoint without it still shows its attention.
    if (binder.error().isEmpty()) {
        const QString normWeight = names.finalNorm + QStringLiteral(".weight");
        const QString normLegacy = names.finalNorm + QStringLiteral(".gamma");
        if (!traits.causal)
            m_noPrediction = QStringLiteral("%1 is not a left-to-right language model: it predicts no next token").arg(traits.displayName);
        else if (names.finalNorm.isEmpty() || (!binder.has(normWeight) && !binder.has(normLegacy)))
            m_noPrediction = QStringLiteral("the checkpoint has no final norm (\"%1\")").arg(normWeight);
        else if (!config.tiedOutput && !binder.has(names.outputHead))
            m_noPrediction = QStringLiteral("the checkpoint has no output projection (\"%1\"), and config.json says it is not the token embedding")
                                 .arg(names.outputHead);
        if (m_noPrediction.isEmpty()) {
            m_finalNorm = binder.norm(names.finalNorm, c);
            m_outputHead = config.tiedOutput ? m_tokenEmbedding : binder.tensor(names.outputHead, config.vocabSize, c);
        }
    }
    if (!binder.error().isEmpty())
        return Status::failure(binder.error());
    m_nonFiniteTensors = binder.nonFinite();
    return Status::success();
}

qint64 TransformerModel::convertedBytes() const
{
    qint64 bytes = 0;
    for (const std::vector<float> &copy : m_converted)
        bytes += qint64(copy.size() * sizeof(float));
    return bytes;
}

Status TransformerModel::validate(const ForwardInput &input) const
{
    if (input.ids.empty())
        return Status::failure(QStringLiteral("there are no tokens to run"));
    if (int(input.ids.size()) > m_config.maxPositions)
        return Status::failure(QStringLiteral("%1 tokens are more than the model's %2 positions").arg(input.ids.size()).arg(m_config.maxPositions));
    for (int id : input.ids)
        if (id < 0 || id >= m_config.vocabSize)
            return Status::failure(QStringLiteral("token id %1 is outside the vocabulary (0..%2)").arg(id).arg(m_config.vocabSize - 1));
    if (!input.tokenTypes.empty() && input.tokenTypes.size() != input.ids.size())
        return Status::failure(QStringLiteral("token types and ids differ in length"));
    for (int type : input.tokenTypes)
        if (type < 0 || type >= std::max(1, m_config.typeVocabSize))
            return Status::failure(QStringLiteral("token type %1 is outside 0..%2").arg(type).arg(std::max(1, m_config.typeVocabSize) - 1));
    if (!input.attentionMask.empty() && input.attentionMask.size() != input.ids.size())
        return Status::failure(QStringLiteral("the attention mask and ids differ in length"));
    return Status::success();
}

KernelOptions TransformerModel::kernelOptions(const ForwardInput &input) const
{
    KernelOptions options;
    options.scale = 1.0f / std::sqrt(float(m_config.headDim()));
    options.visibility.causal = m_config.traits().causal;
    options.temperature = input.attentionTemperature > 0 && std::isfinite(input.attentionTemperature) ? input.attentionTemperature : 1.0;
    if (!input.attentionMask.empty()) { // padding: a 0 in the attention mask hides that key
        options.visibility.hiddenKeys.resize(input.attentionMask.size());
        for (size_t j = 0; j < input.attentionMask.size(); ++j)
            options.visibility.hiddenKeys[j] = input.attentionMask[j] == 0;
    }
    return options;
}

double largestAttentionDeviation(const std::vector<std::vector<Matrix>> &a, const std::vector<std::vector<Matrix>> &b)
{
    double largest = 0;
    for (size_t l = 0; l < std::min(a.size(), b.size()); ++l)
        for (size_t h = 0; h < std::min(a[l].size(), b[l].size()); ++h)
            if (a[l][h].size() > 0 && a[l][h].rows() == b[l][h].rows() && a[l][h].cols() == b[l][h].cols())
                largest = std::max(largest, double((a[l][h] - b[l][h]).cwiseAbs().maxCoeff()));
    return largest;
}

qint64 TransformerModel::bf16CopyBytesToMake() const
{
    qint64 elements = 0;
    for (const LayerWeights &layer : m_layers)
        for (const LinearWeights *linear : {&layer.qkv, &layer.query, &layer.key, &layer.value, &layer.attentionOutput,
                                            &layer.mlpGate, &layer.mlpIn, &layer.mlpOut})
            elements += qint64(linear->weight.rows) * linear->weight.cols;
    return std::max<qint64>(0, elements * qint64(sizeof(quint16)) - m_bf16Weights.bytes());
}

void TransformerModel::compareWithFp32(const ForwardInput &input, const ForwardOptions &options, ModelTrace &trace) const
{
    if (trace.precision != Precision::Bf16)
        return;
    ForwardOptions exact;
    exact.threads = options.threads;
    exact.cancel = options.cancel;
    const ModelTrace reference = forward(input, exact);
    trace.maxDeviation = largestAttentionDeviation(trace.attentions, reference.attentions);
}

LinearRun TransformerModel::linearRun(const ForwardOptions &options) const
{
    const bool bf16 = options.precision == Precision::Bf16 && bf16Supported();
    return LinearRun{options.threads, bf16 ? &m_bf16Weights : nullptr};
}

KernelOptions TransformerModel::layerKernelOptions(const KernelOptions &base, int layer) const
{
    KernelOptions options = base;
    options.visibility.window = m_config.slidingWindow(layer);
    return options;
}

void TransformerModel::normalise(const LayerNormWeights &norm, Matrix &x) const
{
    switch (m_config.traits().norm) {
    case NormKind::LayerNorm: layerNorm(norm, m_config.normEps, x); break;
    case NormKind::RmsNorm: rmsNorm(norm.gain, m_config.normEps, x); break;
    }
}

void TransformerModel::project(const LayerWeights &layer, const Matrix &x, Projections &out, const LinearRun &run,
                               const RotaryTable &rotary, bool keepPreRope, qint64 *linearNanoseconds) const
{
    QElapsedTimer timer;
    timer.start();
    const auto timed = [&] {
        if (linearNanoseconds)
            *linearNanoseconds += timer.nsecsElapsed();
    };
    if (!m_config.traits().names.fusedQkv.isEmpty()) {
        applyLinear(layer.qkv, x, out.fused, run); // (T, 3C): q | k | v
        timed();
        return;
    }
    applyLinear(layer.query, x, out.q, run); // (T, H·d)
    applyLinear(layer.key, x, out.k, run);   // (T, KV·d)
    applyLinear(layer.value, x, out.v, run); // (T, KV·d)
    timed();
    switch (m_config.traits().positions) {
    case PositionKind::Rotary:
        if (keepPreRope) {
            out.qPreRope = out.q;
            out.kPreRope = out.k;
        }
        applyRotary(rotary, m_config.heads, m_config.headDim(), out.q);
        applyRotary(rotary, m_config.kvHeads, m_config.headDim(), out.k);
        break;
    case PositionKind::Learned:
    case PositionKind::Sinusoidal:
    case PositionKind::None:
        break;
    }
}

Eigen::Ref<const Matrix> TransformerModel::headSlice(const Projections &projections, Projection which, int head) const
{
    const int d = m_config.headDim();
    if (!m_config.traits().names.fusedQkv.isEmpty())
        return projections.fused.middleCols(int(which) * m_config.hidden + head * d, d);
    // Keys and values come from the head's key/value head, shared by its group of query heads.
    switch (which) {
    case Projection::Q: return projections.q.middleCols(head * d, d);
    case Projection::K: return projections.k.middleCols(m_config.kvHeadOf(head) * d, d);
    case Projection::V: return projections.v.middleCols(m_config.kvHeadOf(head) * d, d);
    case Projection::O: break; // not a projection of X
    }
    Q_UNREACHABLE();
}

void TransformerModel::runLayer(int l, Matrix &hidden, LayerScratch &work, const KernelOptions &kernel, const RotaryTable &rotary,
                                const ForwardOptions &options, ModelTrace &trace, bool runMlp, BlockTrace *block) const
{
    const ModelConfig &cfg = m_config;
    const ArchitectureTraits &traits = cfg.traits();
    const bool preNorm = traits.normPlacement == NormPlacement::PreLN;
    const int tokens = int(hidden.rows());
    const int d = cfg.headDim();
    const LinearRun linearSettings = linearRun(options);
    // The linear layers, timed when a benchmark asks.
    const auto linear = [&](const LinearWeights &weights, const Eigen::Ref<const Matrix> &x, Matrix &y) {
        QElapsedTimer timer;
        if (options.linearNanoseconds)
            timer.start();
        applyLinear(weights, x, y, linearSettings);
        if (options.linearNanoseconds)
            *options.linearNanoseconds += timer.nsecsElapsed();
    };
    const LayerWeights &layer = m_layers[size_t(l)];
    bool keepsStages = false;
    for (const auto &[sl, sh] : options.stageHeads)
        keepsStages |= sl == l;
    if (block)
        block->residualIn = hidden;
    if (options.keepLayerInputs)
        trace.residualInputs[l] = hidden;
    // Each sublayer reads the stream normalised first (pre-LN) or as it is (post-LN), and adds its
    // result back (post-LN: then normalises the sum).
    const auto sublayerInput = [&](const LayerNormWeights &norm) -> const Matrix * {
        if (!preNorm)
            return &hidden;
        work.normed = hidden;
        normalise(norm, work.normed);
        return &work.normed;
    };
    const auto addToStream = [&](const LayerNormWeights &norm) {
        hidden += work.projected;
        if (!preNorm)
            normalise(norm, hidden);
    };

    const Matrix *attentionInput = sublayerInput(layer.attentionNorm);
    if (keepsStages || options.keepLayerInputs)
        trace.layerInputs[l] = *attentionInput;

    project(layer, *attentionInput, work.qkv, linearSettings, rotary, keepsStages, options.linearNanoseconds);
    // Entries for kept stages exist before the heads run, so the workers only look them up.
    for (const auto &[sl, sh] : options.stageHeads)
        if (sl == l && sh >= 0 && sh < cfg.heads)
            trace.stages[{sl, sh}];
    const KernelOptions layerKernel = layerKernelOptions(kernel, l);
    std::vector<Matrix> outputSlices; // W_O^h (d, C) per head, for the value norms
    if (options.keepValueNorms) {
        trace.valueNorms.resize(size_t(cfg.layers));
        trace.valueNorms[size_t(l)].resize(tokens, cfg.heads);
        for (int h = 0; h < cfg.heads; ++h)
            outputSlices.push_back(headOutputProjection(l, h));
    }
    work.context.resize(tokens, cfg.heads * d);
    parallelFor(options.threads, cfg.heads, [&](int begin, int end) {
        Matrix headOutput(tokens, d);
        for (int h = begin; h < end; ++h) {
            if (options.keepValueNorms) // ‖(x_j W_V^h + b_V^h) W_O^h‖ for every token j
                trace.valueNorms[size_t(l)].col(h) = (headSlice(work.qkv, Projection::V, h) * outputSlices[size_t(h)]).rowwise().norm();
            const auto kept = trace.stages.find({l, h});
            HeadTrace *stages = kept == trace.stages.end() ? nullptr : &kept->second;
            attend(headSlice(work.qkv, Projection::Q, h), headSlice(work.qkv, Projection::K, h), headSlice(work.qkv, Projection::V, h),
                   layerKernel, trace.attentions[size_t(l)][size_t(h)], headOutput, stages);
            if (stages && work.qkv.qPreRope.size() > 0) {
                stages->qPreRope = work.qkv.qPreRope.middleCols(h * d, d);
                stages->kPreRope = work.qkv.kPreRope.middleCols(cfg.kvHeadOf(h) * d, d);
            }
            work.context.middleCols(h * d, d) = headOutput;
        }
    });
    if (options.layerDone)
        options.layerDone(l, trace);
    linear(layer.attentionOutput, work.context, work.projected);
    if (block) {
        block->context = work.context;
        block->attentionOut = work.projected;
    }
    addToStream(layer.attentionNorm);
    if (block)
        block->afterAttention = hidden;
    if (!runMlp)
        return;

    // MLP: pre-LN x + W₂ act(W₁ LN(x)); post-LN LN(x + W₂ act(W₁ x)); gated: W₂ (act(W_g x) ⊙ W₁ x).
    const Matrix *mlpInput = sublayerInput(layer.mlpNorm);
    if (block)
        block->mlpInput = *mlpInput;
    linear(layer.mlpIn, *mlpInput, work.inner);
    if (traits.gatedMlp) {
        linear(layer.mlpGate, *mlpInput, work.gate);
        applyActivation(work.gate, cfg.activation, options.threads);
        work.inner.array() *= work.gate.array();
    } else {
        applyActivation(work.inner, cfg.activation, options.threads);
    }
    linear(layer.mlpOut, work.inner, work.projected);
    if (block) {
        block->mlpHidden = work.inner;
        block->mlpOut = work.projected;
    }
    addToStream(layer.mlpNorm);
    if (block)
        block->residualOut = hidden;
}

ModelTrace TransformerModel::forward(const ForwardInput &input, const ForwardOptions &options) const
{
    const ModelConfig &cfg = m_config;
    const ArchitectureTraits &traits = cfg.traits();
    const int tokens = int(input.ids.size());
    const int c = cfg.hidden;
    const KernelOptions kernel = kernelOptions(input);
    const RotaryTable rotary = traits.positions == PositionKind::Rotary ? rotaryTable(cfg.rope, tokens, cfg.headDim()) : RotaryTable();
    ModelTrace trace;
    trace.attentions.assign(size_t(cfg.layers), std::vector<Matrix>(size_t(cfg.heads)));
    trace.precision = linearRun(options).bf16 ? Precision::Bf16 : Precision::Fp32;

    // Embeddings: token (+ learned position) (+ token type), then the family's embedding norm. (T, C)
    Matrix hidden(tokens, c);
    RowVector row(c);
    for (int t = 0; t < tokens; ++t) {
        m_tokenEmbedding.rowsAsFloat(input.ids[size_t(t)], 1, hidden.row(t).data());
        if (m_positionEmbedding.present()) {
            m_positionEmbedding.rowsAsFloat(t, 1, row.data());
            hidden.row(t) += row;
        }
        if (m_typeEmbedding.present()) {
            m_typeEmbedding.rowsAsFloat(input.tokenTypes.empty() ? 0 : input.tokenTypes[size_t(t)], 1, row.data());
            hidden.row(t) += row;
        }
    }
    if (traits.normalisesEmbeddings)
        normalise(m_embeddingNorm, hidden);
    trace.embeddings = hidden;

    // The last MLP changes nothing that attention shows: it runs only for a prediction.
    const bool predicts = options.keepFinalHidden && canPredict();
    LayerScratch work; // buffers reused from layer to layer
    for (int l = 0; l < cfg.layers; ++l) {
        if (options.cancel && options.cancel->load()) {
            trace.cancelled = true;
            return trace;
        }
        runLayer(l, hidden, work, kernel, rotary, options, trace, l + 1 < cfg.layers || predicts, nullptr);
        if (options.progress && l + 1 < cfg.layers)
            options.progress(l + 1);
    }
    if (predicts) {
        trace.finalHidden = hidden;
        normalise(m_finalNorm, trace.finalHidden);
    }
    if (options.progress)
        options.progress(cfg.layers);
    return trace;
}

BlockTrace TransformerModel::blockStages(const Matrix &residualIn, int layer, const ForwardInput &input, const ForwardOptions &options) const
{
    BlockTrace block;
    if (layer < 0 || layer >= m_config.layers || residualIn.cols() != m_config.hidden)
        return block;
    const int tokens = int(residualIn.rows());
    ForwardOptions one;
    one.threads = options.threads;
    one.precision = options.precision;
    ModelTrace scratch;
    scratch.attentions.assign(size_t(m_config.layers), std::vector<Matrix>(size_t(m_config.heads)));
    const RotaryTable rotary = m_config.traits().positions == PositionKind::Rotary ? rotaryTable(m_config.rope, tokens, m_config.headDim()) : RotaryTable();
    Matrix hidden = residualIn;
    LayerScratch work;
    runLayer(layer, hidden, work, kernelOptions(input), rotary, one, scratch, true, &block);
    if (layer + 1 == m_config.layers && canPredict()) {
        block.finalNormed = hidden;
        normalise(m_finalNorm, block.finalNormed);
    }
    return block;
}

QString TransformerModel::predictionUnavailableReason() const
{
    return canPredict() ? QString() : m_noPrediction;
}

RowVector TransformerModel::logits(const Eigen::Ref<const RowVector> &finalHidden, int threads) const
{
    RowVector out(m_outputHead.rows);
    if (!canPredict() || finalHidden.size() != m_outputHead.cols)
        return RowVector();
    // Blocks of vocabulary rows, split over threads; a half-precision head is converted a block at a time.
    constexpr int kBlock = 2048;
    const int blocks = (m_outputHead.rows + kBlock - 1) / kBlock;
    parallelFor(threads, blocks, [&](int begin, int end) {
        Matrix block;
        for (int b = begin; b < end; ++b) {
            const int first = b * kBlock;
            const int count = std::min(kBlock, m_outputHead.rows - first);
            if (m_outputHead.isHalf()) {
                block.resize(count, m_outputHead.cols);
                m_outputHead.rowsAsFloat(first, count, block.data());
                out.segment(first, count).noalias() = finalHidden * block.transpose();
            } else {
                out.segment(first, count).noalias() = finalHidden * m_outputHead.matrix().middleRows(first, count).transpose();
            }
        }
    });
    return out;
}

Matrix TransformerModel::headOutputProjection(int layer, int head) const
{
    const LinearWeights &output = m_layers.at(size_t(layer)).attentionOutput;
    const int d = m_config.headDim();
    Matrix slice;
    if (output.outByIn) { // (C, H·d): the head's columns, transposed
        Matrix columns(output.outputs(), d);
        output.weight.columnsAsFloat(head * d, d, columns.data());
        slice = columns.transpose();
    } else { // (H·d, C): the head's rows
        slice.resize(d, output.outputs());
        output.weight.rowsAsFloat(head * d, d, slice.data());
    }
    return slice;
}

HeadTrace TransformerModel::headStages(const Matrix &layerInput, int layer, int head, const ForwardInput &input,
                                       const ForwardOptions &options) const
{
    const int tokens = int(layerInput.rows());
    const int d = m_config.headDim();
    const RotaryTable rotary = m_config.traits().positions == PositionKind::Rotary ? rotaryTable(m_config.rope, tokens, d) : RotaryTable();
    Projections qkv;
    project(m_layers.at(size_t(layer)), layerInput, qkv, linearRun(options), rotary, true);
    HeadTrace stages;
    Matrix weights;
    Matrix output(tokens, d);
    attend(headSlice(qkv, Projection::Q, head), headSlice(qkv, Projection::K, head), headSlice(qkv, Projection::V, head),
           layerKernelOptions(kernelOptions(input), layer), weights, output, &stages);
    if (qkv.qPreRope.size() > 0) {
        stages.qPreRope = qkv.qPreRope.middleCols(head * d, d);
        stages.kPreRope = qkv.kPreRope.middleCols(m_config.kvHeadOf(head) * d, d);
    }
    return stages;
}

TransformerModel::HeadProjection TransformerModel::headProjection(int layer, int head) const
{
    const LayerWeights &w = m_layers.at(size_t(layer));
    const int c = m_config.hidden;
    const int d = m_config.headDim();
    HeadProjection p;
    // Columns [offset, offset + d) of the (C, out) projection, whatever its storage order.
    auto slice = [&](const LinearWeights &linear, int offset, Matrix &weight, RowVector &bias) {
        if (linear.outByIn) {
            Matrix rows(d, linear.inputs());
            linear.weight.rowsAsFloat(offset, d, rows.data());
            weight = rows.transpose();
        } else {
            weight.resize(linear.inputs(), d);
            linear.weight.columnsAsFloat(offset, d, weight.data());
        }
        bias = linear.bias.present() ? RowVector(linear.bias.row().segment(offset, d)) : RowVector();
    };
    if (!m_config.traits().names.fusedQkv.isEmpty()) {
        slice(w.qkv, head * d, p.wQ, p.bQ);
        slice(w.qkv, c + head * d, p.wK, p.bK);
        slice(w.qkv, 2 * c + head * d, p.wV, p.bV);
    } else {
        slice(w.query, head * d, p.wQ, p.bQ);
        slice(w.key, m_config.kvHeadOf(head) * d, p.wK, p.bK);
        slice(w.value, m_config.kvHeadOf(head) * d, p.wV, p.bV);
    }
    return p;
}

} // namespace studio
