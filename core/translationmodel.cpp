#include "translationmodel.h"

#include "weightbinder.h"

#include <QJsonArray>

#include <cmath>
#include <limits>

namespace studio {

QString attentionKindName(AttentionKind kind)
{
    switch (kind) {
    case AttentionKind::Encoder: return QStringLiteral("encoder");
    case AttentionKind::Decoder: return QStringLiteral("decoder");
    case AttentionKind::Cross: return QStringLiteral("cross");
    }
    Q_UNREACHABLE();
}

QString attentionKindTitle(AttentionKind kind)
{
    switch (kind) {
    case AttentionKind::Encoder: return QStringLiteral("Encoder self-attention");
    case AttentionKind::Decoder: return QStringLiteral("Decoder self-attention");
    case AttentionKind::Cross: return QStringLiteral("Cross-attention");
    }
    Q_UNREACHABLE();
}

std::optional<AttentionKind> attentionKindFromName(const QString &name)
{
    for (AttentionKind kind : kAttentionKinds)
        if (attentionKindName(kind) == name)
            return kind;
    return std::nullopt;
}

const SharedAttentionMaps &TranslationTrace::maps(AttentionKind kind) const
{
    switch (kind) {
    case AttentionKind::Encoder: return encoder;
    case AttentionKind::Decoder: return decoder;
    case AttentionKind::Cross: return cross;
    }
    Q_UNREACHABLE();
}

namespace {

// Encoder–decoder families transformers has, which this forward pass does not run (yet).
const char *const kOtherEncoderDecoders[] = {"t5", "mt5", "umt5", "bart", "mbart", "pegasus", "pegasus_x", "m2m_100", "nllb-moe",
                                             "fsmt", "blenderbot", "blenderbot-small", "led", "prophetnet", "longt5", "switch_transformers",
                                             "plbart", "bigbird_pegasus", "whisper", "encoder-decoder", "mvp", "seamless_m4t"};

// An id config.json gives (a number, or the first of a list), else the default.
Result<int> readId(const QJsonObject &json, const char *key, int fallback, int limit)
{
    QJsonValue value = json.value(QLatin1String(key));
    if (value.isArray())
        value = value.toArray().first();
    if (value.isUndefined() || value.isNull())
        return {fallback, {}};
    const double d = value.toDouble(-1);
    if (!value.isDouble() || d < 0 || d != std::floor(d) || d >= double(limit))
        return Result<int>::failure(QStringLiteral("config.json: \"%1\" must be a token id below the vocabulary size %2").arg(QLatin1String(key)).arg(limit));
    return {int(d), {}};
}

} // namespace

bool isEncoderDecoderConfig(const QJsonObject &json)
{
    if (json.value(QStringLiteral("is_encoder_decoder")).toBool(false))
        return true;
    const QString type = json.value(QStringLiteral("model_type")).toString();
    if (type == QStringLiteral("marian"))
        return true;
    for (const char *other : kOtherEncoderDecoders)
        if (type == QLatin1String(other))
            return true;
    return false;
}

Result<TranslationConfig> parseTranslationConfig(const QJsonObject &json)
{
    using R = Result<TranslationConfig>;
    const QString type = json.value(QStringLiteral("model_type")).toString();
    if (type != QStringLiteral("marian"))
        return R::failure(QStringLiteral("config.json: model_type \"%1\" is an encoder–decoder model Attention Studio does not run; "
                                         "it runs Marian (marian) translation models, such as Helsinki-NLP's opus-mt")
                              .arg(type.isEmpty() ? QStringLiteral("(missing)") : type));
    TranslationConfig config;
    struct Size {
        const char *key;
        int *target;
        qint64 largest;
        qint64 fallback;
    };
    // MarianConfig's defaults for absent keys.
    const Size sizes[] = {{"encoder_layers", &config.encoderLayers, kMaxLayers, 12}, {"decoder_layers", &config.decoderLayers, kMaxLayers, 12},
                          {"encoder_attention_heads", &config.encoderHeads, kMaxLayers, 16},
                          {"decoder_attention_heads", &config.decoderHeads, kMaxLayers, 16}, {"d_model", &config.hidden, kMaxWidth, 1024},
                          {"encoder_ffn_dim", &config.encoderFfn, kMaxWidth, 4096}, {"decoder_ffn_dim", &config.decoderFfn, kMaxWidth, 4096},
                          {"vocab_size", &config.vocabSize, kMaxCount, 58101}, {"max_position_embeddings", &config.maxPositions, kMaxCount, 1024}};
    for (const Size &size : sizes) {
        const Result<int> read = readSize(json, {size.key}, size.largest, size.fallback);
        if (!read)
            return R::failure(read.error);
        *size.target = *read.value;
    }
    for (const auto &[key, heads] : {std::pair{"encoder_attention_heads", config.encoderHeads}, std::pair{"decoder_attention_heads", config.decoderHeads}})
        if (config.hidden % heads != 0)
            return R::failure(QStringLiteral("config.json: d_model %1 is not a multiple of %2 %3").arg(config.hidden).arg(QLatin1String(key)).arg(heads));
    const QString activation = json.value(QStringLiteral("activation_function")).toString(QStringLiteral("gelu"));
    const std::optional<Activation> parsed = activationFromConfigName(activation);
    if (!parsed)
        return R::failure(QStringLiteral("config.json: activation_function \"%1\" is not supported (gelu, gelu_new, silu/swish or relu)").arg(activation));
    config.activation = *parsed;
    config.scaleEmbedding = json.value(QStringLiteral("scale_embedding")).toBool(false);
    config.sharedEmbeddings = json.value(QStringLiteral("share_encoder_decoder_embeddings")).toBool(true);
    config.tiedOutput = json.value(QStringLiteral("tie_word_embeddings")).toBool(true);
    // MarianMTModel's decoder (and output) vocabulary: the shared one, or decoder_vocab_size.
    config.decoderVocabSize = config.vocabSize;
    if (!config.sharedEmbeddings) {
        const Result<int> decoderVocab = readSize(json, {"decoder_vocab_size"}, kMaxCount, config.vocabSize);
        if (!decoderVocab)
            return R::failure(decoderVocab.error);
        config.decoderVocabSize = *decoderVocab.value;
    }
    for (const auto &[key, target, fallback] : {std::tuple{"pad_token_id", &config.padId, 58100}, std::tuple{"decoder_start_token_id", &config.decoderStartId, -1},
                                                std::tuple{"eos_token_id", &config.eosId, 0}}) {
        const Result<int> id = readId(json, key, fallback, config.decoderVocabSize);
        if (!id)
            return R::failure(id.error);
        *target = *id.value;
    }
    if (config.decoderStartId < 0) // MarianConfig: the start is the pad token unless said otherwise
        config.decoderStartId = config.padId;
    if (config.padId >= config.decoderVocabSize || config.decoderStartId >= config.decoderVocabSize)
        return R::failure(QStringLiteral("config.json: the pad or decoder start token id is outside the vocabulary of %1").arg(config.decoderVocabSize));
    for (const QJsonValue &words : json.value(QStringLiteral("bad_words_ids")).toArray()) {
        const QJsonArray sequence = words.toArray();
        // Only single tokens are banned outright; Marian's files ban the pad token that way.
        if (sequence.size() == 1 && sequence.first().isDouble()) {
            const int id = sequence.first().toInt(-1);
            if (id >= 0 && id < config.decoderVocabSize)
                config.bannedIds.push_back(id);
        }
    }
    return {config, {}};
}

Matrix marianPositions(int positions, int dim)
{
    Matrix table(positions, dim);
    const int sinColumns = (dim + 1) / 2;
    for (int pos = 0; pos < positions; ++pos)
        for (int j = 0; j < dim; ++j) {
            // Column j < ⌈d/2⌉ is sin of pair j's angle; column ⌈d/2⌉ + i the cos of pair i's.
            const int pair = j < sinColumns ? j : j - sinColumns;
            const double angle = double(pos) / std::pow(10000.0, 2.0 * pair / double(dim));
            table(pos, j) = float(j < sinColumns ? std::sin(angle) : std::cos(angle));
        }
    return table;
}

Result<std::shared_ptr<const TranslationModel>> TranslationModel::bind(const TranslationConfig &config,
                                                                       std::vector<std::unique_ptr<SafetensorsFile>> files)
{
    using R = Result<std::shared_ptr<const TranslationModel>>;
    QHash<QString, TensorView> tensors;
    for (const std::unique_ptr<SafetensorsFile> &file : files)
        for (auto it = file->tensors().cbegin(); it != file->tensors().cend(); ++it) {
            if (tensors.contains(it.key()))
                return R::failure(QStringLiteral("tensor \"%1\" is in more than one shard").arg(it.key()));
            tensors.insert(it.key(), it.value());
        }
    std::shared_ptr<TranslationModel> model(new TranslationModel);
    if (const Status bound = model->bindTensors(config, tensors); !bound)
        return R::failure(bound.error);
    model->m_files = std::move(files);
    return {std::shared_ptr<const TranslationModel>(std::move(model)), {}};
}

Result<std::shared_ptr<const TranslationModel>> TranslationModel::bind(const TranslationConfig &config, const QHash<QString, TensorView> &tensors)
{
    using R = Result<std::shared_ptr<const TranslationModel>>;
    std::shared_ptr<TranslationModel> model(new TranslationModel);
    if (const Status bound = model->bindTensors(config, tensors); !bound)
        return R::failure(bound.error);
    return {std::shared_ptr<const TranslationModel>(std::move(model)), {}};
}

Status TranslationModel::bindTensors(const TranslationConfig &config, const QHash<QString, TensorView> &tensors)
{
    m_config = config;
    // MarianMTModel saves under "model."; a bare MarianModel without it.
    WeightBinder binder({QStringLiteral("model."), QString()}, LinearLayout::OutByIn, NormKind::LayerNorm, tensors, m_converted);
    const int c = config.hidden;
    const QString shared = QStringLiteral("shared.weight");
    const QString encoderTokens = QStringLiteral("encoder.embed_tokens.weight");
    if (config.sharedEmbeddings) {
        m_encoderEmbedding = binder.tensor(binder.has(shared) ? shared : encoderTokens, config.vocabSize, c);
        m_decoderEmbedding = m_encoderEmbedding;
    } else {
        m_encoderEmbedding = binder.tensor(encoderTokens, config.vocabSize, c);
        m_decoderEmbedding = binder.tensor(QStringLiteral("decoder.embed_tokens.weight"), config.decoderVocabSize, c);
    }
    // Positions: the checkpoint's own table where it has one, else the sinusoids.
    const auto positions = [&](const QString &name) {
        if (!binder.has(name))
            return marianPositions(config.maxPositions, c);
        const WeightRef table = binder.tensor(name, config.maxPositions, c);
        return table.present() ? table.toMatrix() : Matrix();
    };
    m_encoderPositions = positions(QStringLiteral("encoder.embed_positions.weight"));
    m_decoderPositions = positions(QStringLiteral("decoder.embed_positions.weight"));
    const auto attentionBlock = [&](const QString &prefix, const QString &normName) {
        AttentionBlock block;
        block.query = binder.linear(prefix + QStringLiteral(".q_proj"), c, c, true);
        block.key = binder.linear(prefix + QStringLiteral(".k_proj"), c, c, true);
        block.value = binder.linear(prefix + QStringLiteral(".v_proj"), c, c, true);
        block.output = binder.linear(prefix + QStringLiteral(".out_proj"), c, c, true);
        block.norm = binder.norm(normName, c);
        return block;
    };
    for (int l = 0; l < config.encoderLayers && binder.error().isEmpty(); ++l) {
        const QString p = QStringLiteral("encoder.layers.%1.").arg(l);
        EncoderLayer layer;
        layer.self = attentionBlock(p + QStringLiteral("self_attn"), p + QStringLiteral("self_attn_layer_norm"));
        layer.fc1 = binder.linear(p + QStringLiteral("fc1"), c, config.encoderFfn, true);
        layer.fc2 = binder.linear(p + QStringLiteral("fc2"), config.encoderFfn, c, true);
        layer.finalNorm = binder.norm(p + QStringLiteral("final_layer_norm"), c);
        m_encoder.push_back(layer);
    }
    for (int l = 0; l < config.decoderLayers && binder.error().isEmpty(); ++l) {
        const QString p = QStringLiteral("decoder.layers.%1.").arg(l);
        DecoderLayer layer;
        layer.self = attentionBlock(p + QStringLiteral("self_attn"), p + QStringLiteral("self_attn_layer_norm"));
        layer.cross = attentionBlock(p + QStringLiteral("encoder_attn"), p + QStringLiteral("encoder_attn_layer_norm"));
        layer.fc1 = binder.linear(p + QStringLiteral("fc1"), c, config.decoderFfn, true);
        layer.fc2 = binder.linear(p + QStringLiteral("fc2"), config.decoderFfn, c, true);
        layer.finalNorm = binder.norm(p + QStringLiteral("final_layer_norm"), c);
        m_decoder.push_back(layer);
    }
    m_outputHead = config.tiedOutput ? m_decoderEmbedding : binder.tensor(QStringLiteral("lm_head.weight"), config.decoderVocabSize, c);
    if (binder.has(QStringLiteral("final_logits_bias")))
        m_logitsBias = binder.tensor(QStringLiteral("final_logits_bias"), 1, config.decoderVocabSize);
    if (!binder.error().isEmpty())
        return Status::failure(binder.error());
    m_nonFiniteTensors = binder.nonFinite();
    return Status::success();
}

Status TranslationModel::validate(const TranslationInput &input) const
{
    const auto check = [&](const std::vector<int> &ids, int vocab, const QString &side) -> Status {
        if (ids.empty())
            return Status::failure(QStringLiteral("the %1 has no tokens").arg(side));
        if (int(ids.size()) > m_config.maxPositions)
            return Status::failure(QStringLiteral("the %1's %2 tokens are more than the model's %3 positions").arg(side).arg(ids.size()).arg(m_config.maxPositions));
        for (int id : ids)
            if (id < 0 || id >= vocab)
                return Status::failure(QStringLiteral("%1 token id %2 is outside the vocabulary (0..%3)").arg(side).arg(id).arg(vocab - 1));
        return Status::success();
    };
    if (const Status source = check(input.sourceIds, m_config.vocabSize, QStringLiteral("source")); !source)
        return source;
    if (const Status target = check(input.decoderIds, m_config.decoderVocabSize, QStringLiteral("target")); !target)
        return target;
    if (!input.sourceMask.empty() && input.sourceMask.size() != input.sourceIds.size())
        return Status::failure(QStringLiteral("the source's attention mask and ids differ in length"));
    return Status::success();
}

KernelOptions TranslationModel::kernelOptions(const TranslationInput &input, AttentionKind kind) const
{
    KernelOptions options;
    options.scale = 1.0f / std::sqrt(float(m_config.headDim(kind)));
    options.temperature = input.attentionTemperature > 0 && std::isfinite(input.attentionTemperature) ? input.attentionTemperature : 1.0;
    options.visibility.causal = kind == AttentionKind::Decoder;
    // Source padding is hidden from the encoder's queries and from the decoder's cross-attention.
    if (kind != AttentionKind::Decoder && !input.sourceMask.empty()) {
        options.visibility.hiddenKeys.resize(input.sourceMask.size());
        for (size_t j = 0; j < input.sourceMask.size(); ++j)
            options.visibility.hiddenKeys[j] = input.sourceMask[j] == 0;
    }
    return options;
}

const TranslationModel::AttentionBlock &TranslationModel::block(AttentionKind kind, int layer) const
{
    switch (kind) {
    case AttentionKind::Encoder: return m_encoder[size_t(layer)].self;
    case AttentionKind::Decoder: return m_decoder[size_t(layer)].self;
    case AttentionKind::Cross: return m_decoder[size_t(layer)].cross;
    }
    Q_UNREACHABLE();
}

Matrix TranslationModel::embed(const WeightRef &table, const std::vector<int> &ids) const
{
    const int c = m_config.hidden;
    const float scale = m_config.scaleEmbedding ? float(std::sqrt(double(c))) : 1.0f;
    const Matrix &positions = &table == &m_encoderEmbedding ? m_encoderPositions : m_decoderPositions;
    Matrix x(Eigen::Index(ids.size()), c); // (T, C)
    for (size_t t = 0; t < ids.size(); ++t) {
        table.rowsAsFloat(ids[t], 1, x.row(Eigen::Index(t)).data());
        x.row(Eigen::Index(t)) = x.row(Eigen::Index(t)) * scale + positions.row(Eigen::Index(t));
    }
    return x;
}

void TranslationModel::attendBlock(const AttentionBlock &block, int heads, const Matrix &x, const Matrix &memory, const KernelOptions &kernel,
                                   int threads, std::vector<Matrix> &maps, Matrix &out) const
{
    const bool streaming = x.rows() <= 16;
    Matrix q, k, v;
    applyLinear(block.query, x, q, threads, streaming);       // (T, C)
    applyLinear(block.key, memory, k, threads, streaming);    // (S, C)
    applyLinear(block.value, memory, v, threads, streaming);  // (S, C)
    const int d = m_config.hidden / heads;
    Matrix context(x.rows(), m_config.hidden); // the heads side by side (T, C)
    maps.assign(size_t(heads), Matrix());
    for (int h = 0; h < heads; ++h)
        attend(q.middleCols(h * d, d), k.middleCols(h * d, d), v.middleCols(h * d, d), kernel, maps[size_t(h)], context.middleCols(h * d, d));
    applyLinear(block.output, context, out, threads, streaming); // (T, C)
}

void TranslationModel::feedForward(const LinearWeights &fc1, const LinearWeights &fc2, Matrix &x, int threads) const
{
    const bool streaming = x.rows() <= 16;
    Matrix inner, out;
    applyLinear(fc1, x, inner, threads, streaming); // (T, ffn)
    applyActivation(inner, m_config.activation, threads);
    applyLinear(fc2, inner, out, threads, streaming); // (T, C)
    x += out;
}

TranslationTrace TranslationModel::forward(const TranslationInput &input, int threads, const std::atomic<bool> *cancel,
                                           const TranslationTrace *encoded) const
{
    TranslationTrace trace;
    const double eps = m_config.normEps;
    auto decoderMaps = std::make_shared<AttentionMaps>();
    auto crossMaps = std::make_shared<AttentionMaps>();
    const auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

    Matrix attended;
    if (encoded && encoded->encoderOutput.rows() == Eigen::Index(input.sourceIds.size())) {
        trace.encoder = encoded->encoder;
        trace.encoderInputs = encoded->encoderInputs;
        trace.encoderOutput = encoded->encoderOutput;
    } else {
        trace.encoder = encode(input, threads, cancel, trace);
        if (trace.cancelled)
            return trace;
    }

    // Decoder, post-LN: y = LN(y + CausalSelfAttn(y)); y = LN(y + CrossAttn(y, enc)); y = LN(y + FFN(y)).
    Matrix y = embed(m_decoderEmbedding, input.decoderIds); // (T, C)
    const KernelOptions decoderKernel = kernelOptions(input, AttentionKind::Decoder);
    const KernelOptions crossKernel = kernelOptions(input, AttentionKind::Cross);
    for (const DecoderLayer &layer : m_decoder) {
        if (cancelled()) {
            trace.cancelled = true;
            return trace;
        }
        trace.decoderInputs.push_back(y);
        attendBlock(layer.self, m_config.decoderHeads, y, y, decoderKernel, threads, decoderMaps->emplace_back(), attended);
        y += attended;
        layerNorm(layer.self.norm, eps, y);
        trace.crossInputs.push_back(y);
        attendBlock(layer.cross, m_config.decoderHeads, y, trace.encoderOutput, crossKernel, threads, crossMaps->emplace_back(), attended);
        y += attended;
        layerNorm(layer.cross.norm, eps, y);
        feedForward(layer.fc1, layer.fc2, y, threads);
        layerNorm(layer.finalNorm, eps, y);
    }
    trace.decoderOutput = y;
    trace.decoder = std::move(decoderMaps);
    trace.cross = std::move(crossMaps);
    return trace;
}

SharedAttentionMaps TranslationModel::encode(const TranslationInput &input, int threads, const std::atomic<bool> *cancel,
                                            TranslationTrace &trace) const
{
    // Encoder, post-LN: x = LN(x + SelfAttn(x)); x = LN(x + FFN(x)).
    auto maps = std::make_shared<AttentionMaps>();
    Matrix x = embed(m_encoderEmbedding, input.sourceIds); // (S, C)
    const KernelOptions kernel = kernelOptions(input, AttentionKind::Encoder);
    Matrix attended;
    for (const EncoderLayer &layer : m_encoder) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
            trace.cancelled = true;
            return maps;
        }
        trace.encoderInputs.push_back(x);
        attendBlock(layer.self, m_config.encoderHeads, x, x, kernel, threads, maps->emplace_back(), attended);
        x += attended;
        layerNorm(layer.self.norm, m_config.normEps, x);
        feedForward(layer.fc1, layer.fc2, x, threads);
        layerNorm(layer.finalNorm, m_config.normEps, x);
    }
    trace.encoderOutput = x; // no final encoder norm: the last layer's output
    return maps;
}

RowVector TranslationModel::logits(const Eigen::Ref<const RowVector> &decoderHidden) const
{
    const int vocab = m_outputHead.rows;
    const int c = m_outputHead.cols;
    RowVector out(vocab);
    // A block of the output projection's rows at a time, converted where it is half precision.
    constexpr int kBlock = 1024;
    std::vector<float> scratch(size_t(kBlock) * size_t(c));
    for (int first = 0; first < vocab; first += kBlock) {
        const int count = std::min(kBlock, vocab - first);
        m_outputHead.rowsAsFloat(first, count, scratch.data());
        out.segment(first, count).noalias() = decoderHidden * Eigen::Map<const Matrix>(scratch.data(), count, c).transpose();
    }
    if (m_logitsBias.present())
        out += m_logitsBias.toMatrix().row(0);
    return out;
}

GreedyStep TranslationModel::greedyChoice(const RowVector &logits) const
{
    GreedyStep best{-1, -std::numeric_limits<double>::infinity()};
    std::vector<char> banned(size_t(logits.size()), 0);
    for (int id : m_config.bannedIds)
        if (id >= 0 && id < logits.size())
            banned[size_t(id)] = 1;
    for (Eigen::Index i = 0; i < logits.size(); ++i)
        if (!banned[size_t(i)] && !std::isnan(logits[i]) && (best.id < 0 || logits[i] > best.logit))
            best = {int(i), double(logits[i])};
    return best;
}

HeadTrace TranslationModel::headStages(const TranslationTrace &trace, AttentionKind kind, int layer, int head, const TranslationInput &input) const
{
    const std::vector<Matrix> &inputs = kind == AttentionKind::Encoder ? trace.encoderInputs
                                      : kind == AttentionKind::Decoder ? trace.decoderInputs
                                                                       : trace.crossInputs;
    HeadTrace stages;
    if (layer < 0 || size_t(layer) >= inputs.size() || head < 0 || head >= m_config.heads(kind))
        return stages;
    const Matrix &x = inputs[size_t(layer)];
    const Matrix &memory = kind == AttentionKind::Cross ? trace.encoderOutput : x;
    const AttentionBlock &b = block(kind, layer);
    const bool streaming = x.rows() <= 16;
    Matrix q, k, v;
    // The whole layer's projections, as forward() computes them, so the head's slice is the same bits.
    applyLinear(b.query, x, q, 1, streaming);
    applyLinear(b.key, memory, k, 1, streaming);
    applyLinear(b.value, memory, v, 1, streaming);
    const int d = m_config.headDim(kind);
    Matrix weights;
    Matrix output(x.rows(), d);
    attend(q.middleCols(head * d, d), k.middleCols(head * d, d), v.middleCols(head * d, d), kernelOptions(input, kind), weights, output, &stages);
    return stages;
}

TransformerModel::HeadProjection TranslationModel::headProjection(AttentionKind kind, int layer, int head) const
{
    TransformerModel::HeadProjection p;
    if (layer < 0 || layer >= m_config.layers(kind) || head < 0 || head >= m_config.heads(kind))
        return p;
    const AttentionBlock &b = block(kind, layer);
    const int d = m_config.headDim(kind);
    // [out, in] storage: the head's d rows, transposed to (C, d).
    const auto slice = [&](const LinearWeights &linear, Matrix &w, RowVector &bias) {
        Matrix rows(d, linear.inputs());
        linear.weight.rowsAsFloat(head * d, d, rows.data());
        w = rows.transpose();
        bias = linear.bias.present() ? RowVector(linear.bias.toMatrix().row(0).segment(head * d, d)) : RowVector();
    };
    slice(b.query, p.wQ, p.bQ);
    slice(b.key, p.wK, p.bK);
    slice(b.value, p.wV, p.bV);
    return p;
}

} // namespace studio
