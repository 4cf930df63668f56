#include "transformer.h"

#include "parallel.h"

#include <unsupported/Eigen/SpecialFunctions>

#include <cmath>
#include <limits>

namespace studio {

namespace {

// Resolves tensor names as they occur in the wild: with or without the architecture's prefix
// ("transformer." for GPT-2 heads, "bert." for BERT task models), and BERT's legacy LayerNorm
// gamma/beta spelling. Collects the first error.
class Binder {
public:
    Binder(const ModelConfig &config, const QHash<QString, TensorView> &tensors, std::deque<std::vector<float>> &converted)
        : m_config(config), m_tensors(tensors), m_converted(converted)
    {
        m_prefixes = config.architecture == Architecture::Gpt2 ? QStringList{QString(), QStringLiteral("transformer.")}
                                                               : QStringList{QString(), QStringLiteral("bert.")};
    }

    QString error() const { return m_error; }

    WeightRef tensor(const QString &name, int rows, int cols)
    {
        if (!m_error.isEmpty())
            return {};
        const TensorView *view = find(name);
        if (!view) {
            m_error = QStringLiteral("missing tensor \"%1\"").arg(name);
            return {};
        }
        // A vector is stored 1-d, a matrix 2-d.
        const std::vector<qint64> expected = rows == 1 && cols > 0 && m_expectVector ? std::vector<qint64>{cols}
                                                                                      : std::vector<qint64>{rows, cols};
        if (view->shape != expected) {
            TensorView wanted;
            wanted.shape = expected;
            m_error = QStringLiteral("tensor \"%1\" has shape %2, expected %3 from config.json")
                          .arg(view->name, view->shapeText(), wanted.shapeText());
            return {};
        }
        const qint64 count = qint64(rows) * cols;
        if (view->dtype == DType::F32 && reinterpret_cast<quintptr>(view->data) % alignof(float) == 0)
            return {reinterpret_cast<const float *>(view->data), rows, cols};
        std::vector<float> &copy = m_converted.emplace_back(size_t(count));
        if (!readFloats(*view, copy.data(), count, &m_error))
            return {};
        return {copy.data(), rows, cols};
    }

    WeightRef vector(const QString &name, int size)
    {
        m_expectVector = true;
        const WeightRef ref = tensor(name, 1, size);
        m_expectVector = false;
        return ref;
    }

    LinearWeights linear(const QString &base, int inputs, int outputs)
    {
        LinearWeights l;
        l.outByIn = m_config.architecture == Architecture::Bert;
        l.weight = l.outByIn ? tensor(base + QStringLiteral(".weight"), outputs, inputs)
                             : tensor(base + QStringLiteral(".weight"), inputs, outputs);
        l.bias = vector(base + QStringLiteral(".bias"), outputs);
        return l;
    }

    LayerNormWeights norm(const QString &base, int size)
    {
        const bool legacy = !find(base + QStringLiteral(".weight")) && find(base + QStringLiteral(".gamma"));
        return {vector(base + (legacy ? QStringLiteral(".gamma") : QStringLiteral(".weight")), size),
                vector(base + (legacy ? QStringLiteral(".beta") : QStringLiteral(".bias")), size)};
    }

private:
    const TensorView *find(const QString &name) const
    {
        for (const QString &prefix : m_prefixes) {
            const auto it = m_tensors.constFind(prefix + name);
            if (it != m_tensors.constEnd())
                return &it.value();
        }
        return nullptr;
    }

    const ModelConfig &m_config;
    const QHash<QString, TensorView> &m_tensors;
    std::deque<std::vector<float>> &m_converted;
    QStringList m_prefixes;
    QString m_error;
    bool m_expectVector = false;
};

// Scaled dot-product attention of one head, keeping every stage when asked.
//   scores = q kᵀ (T, T); scaled = scores / √d; masked: −∞ on hidden keys; weights = softmax(masked)
void attendHead(const Eigen::Ref<const Matrix> &q, const Eigen::Ref<const Matrix> &k, const Eigen::Ref<const Matrix> &v,
                bool causal, const std::vector<int> &attentionMask, Matrix &weights, Eigen::Ref<Matrix> output,
                HeadTrace *stages)
{
    const int tokens = int(q.rows());
    const float scale = 1.0f / std::sqrt(float(q.cols()));
    constexpr float minusInfinity = -std::numeric_limits<float>::infinity();
    if (stages) {
        Matrix scores = q * k.transpose();
        Matrix scaled = scores * scale;
        Matrix masked = scaled;
        for (int j = 0; j < tokens; ++j)
            if (!attentionMask.empty() && attentionMask[size_t(j)] == 0)
                masked.col(j).setConstant(minusInfinity);
        if (causal)
            for (int i = 0; i < tokens; ++i)
                masked.row(i).tail(tokens - i - 1).setConstant(minusInfinity);
        weights = softmaxRows(masked, 1.0);
        output.noalias() = weights * v;
        stages->q = q;
        stages->k = k;
        stages->v = v;
        stages->scores = std::move(scores);
        stages->scaled = std::move(scaled);
        stages->masked = std::move(masked);
        stages->weights = weights;
        stages->output = output;
        stages->entropy = rowEntropyBits(weights);
        return;
    }
    // Only the weights are kept: scale in place, and softmax each row in float with vectorised
    // exponentials over just the keys the query may see (half the row for causal attention).
    weights.resize(tokens, tokens);
    weights.noalias() = (q * scale) * k.transpose();
    for (int j = 0; j < tokens; ++j)
        if (!attentionMask.empty() && attentionMask[size_t(j)] == 0)
            weights.col(j).setConstant(minusInfinity);
    for (int i = 0; i < tokens; ++i) {
        const int visible = causal ? i + 1 : tokens;
        auto row = weights.row(i).head(visible).array();
        const float rowMax = row.maxCoeff();
        if (std::isfinite(rowMax)) {
            row = (row - rowMax).exp();
            const float sum = row.sum();
            row /= sum;
        } else { // every key hidden, or overflowing or NaN scores: the exact rules of softmaxRows
            weights.row(i).head(visible) = softmaxRows(Matrix(weights.row(i).head(visible)), 1.0);
        }
        weights.row(i).tail(tokens - visible).setZero();
    }
    if (causal)
        output.noalias() = weights.triangularView<Eigen::Lower>() * v;
    else
        output.noalias() = weights * v;
}

} // namespace

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

namespace {

// y[:, c0:c1] = x W[:, c0:c1] for W stored [in, out]: one pass over W's rows, eight at a time, so
// each row of y is read and written once per eight weight rows.
void streamInByOut(const Eigen::Ref<const Matrix> &x, const Eigen::Map<const Matrix> &w, Matrix &y, int c0, int c1)
{
    const int width = c1 - c0;
    auto block = y.middleCols(c0, width);
    block.setZero();
    const Eigen::Index rows = w.rows();
    Eigen::Index k = 0;
    for (; k + 8 <= rows; k += 8) {
        const auto w0 = w.row(k).segment(c0, width);
        const auto w1 = w.row(k + 1).segment(c0, width);
        const auto w2 = w.row(k + 2).segment(c0, width);
        const auto w3 = w.row(k + 3).segment(c0, width);
        const auto w4 = w.row(k + 4).segment(c0, width);
        const auto w5 = w.row(k + 5).segment(c0, width);
        const auto w6 = w.row(k + 6).segment(c0, width);
        const auto w7 = w.row(k + 7).segment(c0, width);
        for (Eigen::Index t = 0; t < x.rows(); ++t)
            block.row(t).noalias() += x(t, k) * w0 + x(t, k + 1) * w1 + x(t, k + 2) * w2 + x(t, k + 3) * w3
                + x(t, k + 4) * w4 + x(t, k + 5) * w5 + x(t, k + 6) * w6 + x(t, k + 7) * w7;
    }
    for (; k < rows; ++k)
        for (Eigen::Index t = 0; t < x.rows(); ++t)
            block.row(t).noalias() += x(t, k) * w.row(k).segment(c0, width);
}

// y[:, c0:c1] = x W[c0:c1, :]ᵀ for W stored [out, in]: each weight row is one output column.
void streamOutByIn(const Eigen::Ref<const Matrix> &x, const Eigen::Map<const Matrix> &w, Matrix &y, int c0, int c1)
{
    for (int o = c0; o < c1; ++o) {
        const auto wRow = w.row(o);
        for (Eigen::Index t = 0; t < x.rows(); ++t)
            y(t, o) = x.row(t).dot(wRow);
    }
}

} // namespace

void applyLinear(const LinearWeights &linear, const Eigen::Ref<const Matrix> &x, Matrix &y, int threads, bool streaming)
{
    const int outputs = linear.outputs();
    y.resize(x.rows(), outputs);
    const auto w = linear.weight.matrix();
    const auto b = linear.bias.row();
    // Split by output columns, in blocks of 64 so each thread reads its own part of W.
    const int blocks = (outputs + 63) / 64;
    parallelFor(threads, blocks, [&](int begin, int end) {
        const int c0 = begin * 64;
        const int c1 = std::min(outputs, end * 64);
        if (c1 <= c0)
            return;
        if (streaming && linear.outByIn)
            streamOutByIn(x, w, y, c0, c1);
        else if (streaming)
            streamInByOut(x, w, y, c0, c1);
        else if (linear.outByIn)
            y.middleCols(c0, c1 - c0).noalias() = x * w.middleRows(c0, c1 - c0).transpose();
        else
            y.middleCols(c0, c1 - c0).noalias() = x * w.middleCols(c0, c1 - c0);
        y.middleCols(c0, c1 - c0).rowwise() += b.segment(c0, c1 - c0);
    });
}

void applyGelu(Matrix &x, bool tanhForm, int threads)
{
    parallelFor(threads, int(x.rows()), [&](int begin, int end) {
        auto rows = x.middleRows(begin, end - begin).array();
        if (tanhForm) // 0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))
            rows = 0.5f * rows * (1.0f + (0.7978845608028654f * (rows + 0.044715f * rows.cube())).tanh());
        else // 0.5 x (1 + erf(x / √2))
            rows = 0.5f * rows * (1.0f + (rows * 0.7071067811865476f).erf());
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

Result<std::shared_ptr<TransformerModel>> TransformerModel::bind(const ModelConfig &config,
                                                                 const QHash<QString, TensorView> &tensors)
{
    using R = Result<std::shared_ptr<TransformerModel>>;
    std::shared_ptr<TransformerModel> model(new TransformerModel);
    model->m_config = config;
    Binder binder(config, tensors, model->m_converted);
    const int c = config.hidden;
    const int inner = config.intermediate;
    if (config.architecture == Architecture::Gpt2) {
        model->m_tokenEmbedding = binder.tensor(QStringLiteral("wte.weight"), config.vocabSize, c);
        model->m_positionEmbedding = binder.tensor(QStringLiteral("wpe.weight"), config.maxPositions, c);
        for (int l = 0; l < config.layers; ++l) {
            const QString p = QStringLiteral("h.%1.").arg(l);
            LayerWeights layer;
            layer.attentionNorm = binder.norm(p + QStringLiteral("ln_1"), c);
            layer.qkv = binder.linear(p + QStringLiteral("attn.c_attn"), c, 3 * c);
            layer.attentionOutput = binder.linear(p + QStringLiteral("attn.c_proj"), c, c);
            layer.mlpNorm = binder.norm(p + QStringLiteral("ln_2"), c);
            layer.mlpIn = binder.linear(p + QStringLiteral("mlp.c_fc"), c, inner);
            layer.mlpOut = binder.linear(p + QStringLiteral("mlp.c_proj"), inner, c);
            model->m_layers.push_back(layer);
        }
    } else {
        model->m_tokenEmbedding = binder.tensor(QStringLiteral("embeddings.word_embeddings.weight"), config.vocabSize, c);
        model->m_positionEmbedding = binder.tensor(QStringLiteral("embeddings.position_embeddings.weight"), config.maxPositions, c);
        model->m_typeEmbedding = binder.tensor(QStringLiteral("embeddings.token_type_embeddings.weight"), config.typeVocabSize, c);
        model->m_embeddingNorm = binder.norm(QStringLiteral("embeddings.LayerNorm"), c);
        for (int l = 0; l < config.layers; ++l) {
            const QString p = QStringLiteral("encoder.layer.%1.").arg(l);
            LayerWeights layer;
            layer.query = binder.linear(p + QStringLiteral("attention.self.query"), c, c);
            layer.key = binder.linear(p + QStringLiteral("attention.self.key"), c, c);
            layer.value = binder.linear(p + QStringLiteral("attention.self.value"), c, c);
            layer.attentionOutput = binder.linear(p + QStringLiteral("attention.output.dense"), c, c);
            layer.attentionNorm = binder.norm(p + QStringLiteral("attention.output.LayerNorm"), c);
            layer.mlpIn = binder.linear(p + QStringLiteral("intermediate.dense"), c, inner);
            layer.mlpOut = binder.linear(p + QStringLiteral("output.dense"), inner, c);
            layer.mlpNorm = binder.norm(p + QStringLiteral("output.LayerNorm"), c);
            model->m_layers.push_back(layer);
        }
    }
    if (!binder.error().isEmpty())
        return R::failure(binder.error());
    return {model, {}};
}

QString TransformerModel::validate(const ForwardInput &input) const
{
    if (input.ids.empty())
        return QStringLiteral("there are no tokens to run");
    if (int(input.ids.size()) > m_config.maxPositions)
        return QStringLiteral("%1 tokens are more than the model's %2 positions").arg(input.ids.size()).arg(m_config.maxPositions);
    for (int id : input.ids)
        if (id < 0 || id >= m_config.vocabSize)
            return QStringLiteral("token id %1 is outside the vocabulary (0..%2)").arg(id).arg(m_config.vocabSize - 1);
    if (!input.tokenTypes.empty() && input.tokenTypes.size() != input.ids.size())
        return QStringLiteral("token types and ids differ in length");
    for (int type : input.tokenTypes)
        if (type < 0 || type >= std::max(1, m_config.typeVocabSize))
            return QStringLiteral("token type %1 is outside 0..%2").arg(type).arg(std::max(1, m_config.typeVocabSize) - 1);
    if (!input.attentionMask.empty() && input.attentionMask.size() != input.ids.size())
        return QStringLiteral("the attention mask and ids differ in length");
    return {};
}

ModelTrace TransformerModel::forward(const ForwardInput &input, const ForwardOptions &options) const
{
    const ModelConfig &cfg = m_config;
    const int tokens = int(input.ids.size());
    const int c = cfg.hidden;
    const int d = cfg.headDim();
    const bool gpt2 = cfg.architecture == Architecture::Gpt2;
    const bool streaming = tokens <= options.streamingTokenLimit;
    ModelTrace trace;
    trace.attentions.assign(size_t(cfg.layers), std::vector<Matrix>(size_t(cfg.heads)));

    // Embeddings: token + position (+ token type), then BERT's LayerNorm. (T, C)
    Matrix hidden(tokens, c);
    const auto wte = m_tokenEmbedding.matrix();
    const auto wpe = m_positionEmbedding.matrix();
    for (int t = 0; t < tokens; ++t) {
        hidden.row(t) = wte.row(input.ids[size_t(t)]) + wpe.row(t);
        if (!gpt2)
            hidden.row(t) += m_typeEmbedding.matrix().row(input.tokenTypes.empty() ? 0 : input.tokenTypes[size_t(t)]);
    }
    if (!gpt2)
        layerNorm(m_embeddingNorm, cfg.layerNormEps, hidden);
    trace.embeddings = hidden;

    Matrix normed, qkv, q, k, v, context(tokens, c), projected, inner;
    for (int l = 0; l < cfg.layers; ++l) {
        if (options.cancel && options.cancel->load()) {
            trace.cancelled = true;
            return trace;
        }
        const LayerWeights &layer = m_layers[size_t(l)];
        bool keepsStages = false;
        for (const auto &[sl, sh] : options.stageHeads)
            keepsStages |= sl == l;

        // Attention input: GPT-2 normalises first (pre-LN); BERT attends to the hidden state (post-LN).
        const Matrix *attentionInput = &hidden;
        if (gpt2) {
            normed = hidden;
            layerNorm(layer.attentionNorm, cfg.layerNormEps, normed);
            attentionInput = &normed;
        }
        if (keepsStages || options.keepLayerInputs)
            trace.layerInputs[l] = *attentionInput;

        if (gpt2) {
            applyLinear(layer.qkv, *attentionInput, qkv, options.threads, streaming); // (T, 3C): q | k | v
        } else {
            applyLinear(layer.query, *attentionInput, q, options.threads, streaming);
            applyLinear(layer.key, *attentionInput, k, options.threads, streaming);
            applyLinear(layer.value, *attentionInput, v, options.threads, streaming);
        }
        auto headSlice = [&](int which, int head) -> Eigen::Ref<const Matrix> {
            if (gpt2)
                return qkv.middleCols(which * c + head * d, d);
            const Matrix &m = which == 0 ? q : which == 1 ? k : v;
            return m.middleCols(head * d, d);
        };
        // Entries for kept stages exist before the heads run, so the workers only look them up.
        for (const auto &[sl, sh] : options.stageHeads)
            if (sl == l && sh >= 0 && sh < cfg.heads)
                trace.stages[{sl, sh}];
        parallelFor(options.threads, cfg.heads, [&](int begin, int end) {
            Matrix headOutput(tokens, d);
            for (int h = begin; h < end; ++h) {
                const auto kept = trace.stages.find({l, h});
                attendHead(headSlice(0, h), headSlice(1, h), headSlice(2, h), gpt2, input.attentionMask,
                           trace.attentions[size_t(l)][size_t(h)], headOutput,
                           kept == trace.stages.end() ? nullptr : &kept->second);
                context.middleCols(h * d, d) = headOutput;
            }
        });
        applyLinear(layer.attentionOutput, context, projected, options.threads, streaming);
        hidden += projected;
        if (!gpt2)
            layerNorm(layer.attentionNorm, cfg.layerNormEps, hidden);

        // MLP: GPT-2 x + W₂ gelu(W₁ LN(x)); BERT LN(x + W₂ gelu(W₁ x)).
        if (l + 1 == cfg.layers && gpt2)
            break; // the last GPT-2 MLP changes nothing that attention shows
        const Matrix *mlpInput = &hidden;
        if (gpt2) {
            normed = hidden;
            layerNorm(layer.mlpNorm, cfg.layerNormEps, normed);
            mlpInput = &normed;
        }
        applyLinear(layer.mlpIn, *mlpInput, inner, options.threads, streaming);
        applyGelu(inner, cfg.tanhGelu, options.threads);
        applyLinear(layer.mlpOut, inner, projected, options.threads, streaming);
        hidden += projected;
        if (!gpt2)
            layerNorm(layer.mlpNorm, cfg.layerNormEps, hidden);
        if (options.progress)
            options.progress(l + 1);
    }
    if (options.progress)
        options.progress(cfg.layers);
    return trace;
}

HeadTrace TransformerModel::headStages(const Matrix &layerInput, int layer, int head, const ForwardInput &input) const
{
    const HeadProjection p = headProjection(layer, head);
    const Matrix q = (layerInput * p.wQ).rowwise() + p.bQ;
    const Matrix k = (layerInput * p.wK).rowwise() + p.bK;
    const Matrix v = (layerInput * p.wV).rowwise() + p.bV;
    HeadTrace stages;
    Matrix weights;
    Matrix output(layerInput.rows(), p.wV.cols());
    attendHead(q, k, v, m_config.architecture == Architecture::Gpt2, input.attentionMask, weights, output, &stages);
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
        const auto m = linear.weight.matrix();
        weight = linear.outByIn ? Matrix(m.middleRows(offset, d).transpose()) : Matrix(m.middleCols(offset, d));
        bias = linear.bias.row().segment(offset, d);
    };
    if (m_config.architecture == Architecture::Gpt2) {
        slice(w.qkv, head * d, p.wQ, p.bQ);
        slice(w.qkv, c + head * d, p.wK, p.bK);
        slice(w.qkv, 2 * c + head * d, p.wV, p.bV);
    } else {
        slice(w.query, head * d, p.wQ, p.bQ);
        slice(w.key, head * d, p.wK, p.bK);
        slice(w.value, head * d, p.wV, p.bV);
    }
    return p;
}

} // namespace studio
