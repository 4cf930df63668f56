#include "translationmodel.h"

#include "parallel.h"
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

namespace {

// T5Config's keys and defaults (t5-small's shapes), and its feed_forward_proj.
Result<TranslationConfig> parseT5Config(const QJsonObject &json)
{
    using R = Result<TranslationConfig>;
    TranslationConfig config;
    config.family = TranslationFamily::T5;
    config.modelType = QStringLiteral("t5");
    struct Size {
        const char *key;
        int *target;
        qint64 largest;
        qint64 fallback;
    };
    const Size sizes[] = {{"num_layers", &config.encoderLayers, kMaxLayers, 6}, {"num_heads", &config.encoderHeads, kMaxLayers, 8},
                          {"d_model", &config.hidden, kMaxWidth, 512}, {"d_kv", &config.headDimension, kMaxWidth, 64},
                          {"d_ff", &config.encoderFfn, kMaxWidth, 2048}, {"vocab_size", &config.vocabSize, kMaxCount, 32128},
                          {"relative_attention_num_buckets", &config.relativeBuckets, kMaxCount, 32},
                          {"relative_attention_max_distance", &config.relativeMaxDistance, kMaxCount, 128},
                          {"n_positions", &config.maxPositions, kMaxCount, 512}};
    for (const Size &size : sizes) {
        const Result<int> read = readSize(json, {size.key}, size.largest, size.fallback);
        if (!read)
            return R::failure(read.error);
        *size.target = *read.value;
    }
    const Result<int> decoderLayers = readSize(json, {"num_decoder_layers"}, kMaxLayers, config.encoderLayers);
    if (!decoderLayers)
        return R::failure(decoderLayers.error);
    config.decoderLayers = *decoderLayers.value;
    config.decoderHeads = config.encoderHeads;
    config.decoderFfn = config.encoderFfn;
    config.decoderVocabSize = config.vocabSize;
    if (config.relativeBuckets < 2)
        return R::failure(QStringLiteral("config.json: relative_attention_num_buckets must be at least 2"));
    // "relu", "gelu", … or "gated-<act>"; "gated-gelu" is the tanh GELU (transformers' own rule).
    const QString projection = json.value(QStringLiteral("feed_forward_proj")).toString(QStringLiteral("relu"));
    config.gatedFfn = projection.startsWith(QStringLiteral("gated-"));
    const QString act = config.gatedFfn ? projection.mid(6) : projection;
    const std::optional<Activation> activation = projection == QStringLiteral("gated-gelu") ? Activation::GeluTanh : activationFromConfigName(act);
    if (!activation || projection.count(QLatin1Char('-')) > (config.gatedFfn ? 1 : 0))
        return R::failure(QStringLiteral("config.json: feed_forward_proj \"%1\" is not supported (relu, gelu, gated-gelu, gated-silu …)").arg(projection));
    config.activation = *activation;
    config.normEps = json.value(QStringLiteral("layer_norm_epsilon")).toDouble(1e-6);
    if (!(config.normEps > 0) || !std::isfinite(config.normEps))
        return R::failure(QStringLiteral("config.json: layer_norm_epsilon must be a positive number"));
    config.sharedEmbeddings = true;
    config.tiedOutput = json.value(QStringLiteral("tie_word_embeddings")).toBool(true);
    config.scaleOutput = config.tiedOutput; // transformers rescales a tied output by d_model^−½
    for (const auto &[key, target, fallback] : {std::tuple{"pad_token_id", &config.padId, 0}, std::tuple{"decoder_start_token_id", &config.decoderStartId, -1},
                                                std::tuple{"eos_token_id", &config.eosId, 1}}) {
        const Result<int> id = readId(json, key, fallback, config.vocabSize);
        if (!id)
            return R::failure(id.error);
        *target = *id.value;
    }
    if (config.decoderStartId < 0)
        config.decoderStartId = config.padId;
    return {config, {}};
}

} // namespace

int relativePositionBucket(int relative, bool bidirectional, int buckets, int maxDistance)
{
    int bucket = 0;
    int n = buckets;
    if (bidirectional) {
        n /= 2;
        if (relative > 0)
            bucket += n;
        relative = std::abs(relative);
    } else {
        relative = -std::min(relative, 0);
    }
    const int maxExact = n / 2;
    if (relative < maxExact)
        return bucket + relative;
    // In float, as transformers computes it: log(rel / max_exact) / log(max_distance / max_exact) · (n − max_exact).
    const float scaled = std::log(float(relative) / float(maxExact)) / float(std::log(double(maxDistance) / double(maxExact)))
                         * float(n - maxExact);
    return bucket + std::min(maxExact + int(scaled), n - 1);
}

Result<TranslationConfig> parseTranslationConfig(const QJsonObject &json)
{
    using R = Result<TranslationConfig>;
    const QString type = json.value(QStringLiteral("model_type")).toString();
    if (type == QStringLiteral("t5"))
        return parseT5Config(json);
    if (type != QStringLiteral("marian"))
        return R::failure(QStringLiteral("config.json: model_type \"%1\" is an encoder–decoder model Attention Studio does not run; "
                                         "it runs Marian (marian) translation models, such as Helsinki-NLP's opus-mt, and T5 (t5)")
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
    const Result<QHash<QString, TensorView>> tensors = tensorsOf(files);
    if (!tensors)
        return R::failure(tensors.error);
    std::shared_ptr<TranslationModel> model(new TranslationModel);
    if (const Status bound = model->bindTensors(config, *tensors.value); !bound)
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
    if (config.t5())
        return bindT5(tensors);
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
    const auto feedForward = [&](const QString &p, int width) {
        FeedForward ffn;
        ffn.in = binder.linear(p + QStringLiteral("fc1"), c, width, true);
        ffn.out = binder.linear(p + QStringLiteral("fc2"), width, c, true);
        ffn.norm = binder.norm(p + QStringLiteral("final_layer_norm"), c);
        return ffn;
    };
    for (int l = 0; l < config.encoderLayers && binder.error().isEmpty(); ++l) {
        const QString p = QStringLiteral("encoder.layers.%1.").arg(l);
        EncoderLayer layer;
        layer.self = attentionBlock(p + QStringLiteral("self_attn"), p + QStringLiteral("self_attn_layer_norm"));
        layer.ffn = feedForward(p, config.encoderFfn);
        m_encoder.push_back(layer);
    }
    for (int l = 0; l < config.decoderLayers && binder.error().isEmpty(); ++l) {
        const QString p = QStringLiteral("decoder.layers.%1.").arg(l);
        DecoderLayer layer;
        layer.self = attentionBlock(p + QStringLiteral("self_attn"), p + QStringLiteral("self_attn_layer_norm"));
        layer.cross = attentionBlock(p + QStringLiteral("encoder_attn"), p + QStringLiteral("encoder_attn_layer_norm"));
        layer.ffn = feedForward(p, config.decoderFfn);
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

Status TranslationModel::bindT5(const QHash<QString, TensorView> &tensors)
{
    const TranslationConfig &config = m_config;
    // T5ForConditionalGeneration saves without a prefix; no biases anywhere; RMS-style norms.
    WeightBinder binder({QString(), QStringLiteral("model.")}, LinearLayout::OutByIn, NormKind::RmsNorm, tensors, m_converted);
    const int c = config.hidden;
    const int inner = config.innerWidth(AttentionKind::Encoder);
    const QString shared = QStringLiteral("shared.weight");
    m_encoderEmbedding = binder.tensor(binder.has(shared) ? shared : QStringLiteral("encoder.embed_tokens.weight"), config.vocabSize, c);
    m_decoderEmbedding = m_encoderEmbedding;
    const auto attentionBlock = [&](const QString &prefix, const QString &normName) {
        AttentionBlock block;
        block.query = binder.linear(prefix + QStringLiteral(".q"), c, inner, false);
        block.key = binder.linear(prefix + QStringLiteral(".k"), c, inner, false);
        block.value = binder.linear(prefix + QStringLiteral(".v"), c, inner, false);
        block.output = binder.linear(prefix + QStringLiteral(".o"), inner, c, false);
        block.norm = binder.norm(normName, c);
        return block;
    };
    const auto feedForward = [&](const QString &p) {
        FeedForward ffn;
        const QString dense = p + QStringLiteral("DenseReluDense.");
        ffn.in = binder.linear(dense + (config.gatedFfn ? QStringLiteral("wi_0") : QStringLiteral("wi")), c, config.encoderFfn, false);
        if (config.gatedFfn)
            ffn.gate = binder.linear(dense + QStringLiteral("wi_1"), c, config.encoderFfn, false);
        ffn.out = binder.linear(dense + QStringLiteral("wo"), config.encoderFfn, c, false);
        ffn.norm = binder.norm(p + QStringLiteral("layer_norm"), c);
        return ffn;
    };
    for (int l = 0; l < config.encoderLayers && binder.error().isEmpty(); ++l) {
        const QString p = QStringLiteral("encoder.block.%1.layer.").arg(l);
        EncoderLayer layer;
        layer.self = attentionBlock(p + QStringLiteral("0.SelfAttention"), p + QStringLiteral("0.layer_norm"));
        layer.ffn = feedForward(p + QStringLiteral("1."));
        m_encoder.push_back(layer);
    }
    for (int l = 0; l < config.decoderLayers && binder.error().isEmpty(); ++l) {
        const QString p = QStringLiteral("decoder.block.%1.layer.").arg(l);
        DecoderLayer layer;
        layer.self = attentionBlock(p + QStringLiteral("0.SelfAttention"), p + QStringLiteral("0.layer_norm"));
        layer.cross = attentionBlock(p + QStringLiteral("1.EncDecAttention"), p + QStringLiteral("1.layer_norm"));
        layer.ffn = feedForward(p + QStringLiteral("2."));
        m_decoder.push_back(layer);
    }
    // The first layer of each stack holds its relative position table, used by all its layers.
    m_encoderRelativeBias = binder.tensor(QStringLiteral("encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
                                          config.relativeBuckets, config.encoderHeads);
    m_decoderRelativeBias = binder.tensor(QStringLiteral("decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"),
                                          config.relativeBuckets, config.decoderHeads);
    m_encoderFinalNorm = binder.norm(QStringLiteral("encoder.final_layer_norm"), c);
    m_decoderFinalNorm = binder.norm(QStringLiteral("decoder.final_layer_norm"), c);
    m_outputHead = config.tiedOutput ? m_decoderEmbedding : binder.tensor(QStringLiteral("lm_head.weight"), config.vocabSize, c);
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
    // T5 does not divide its scores by √d (its initialisation folds the factor into W_Q).
    options.scale = m_config.t5() ? 1.0f : 1.0f / std::sqrt(float(m_config.headDim(kind)));
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
        if (positions.rows() > Eigen::Index(t)) // T5 has no position embedding: its bias is on the scores
            x.row(Eigen::Index(t)) = x.row(Eigen::Index(t)) * scale + positions.row(Eigen::Index(t));
    }
    return x;
}

void TranslationModel::normalise(const LayerNormWeights &norm, Matrix &x) const
{
    if (m_config.t5())
        rmsNorm(norm.gain, m_config.normEps, x);
    else
        layerNorm(norm, m_config.normEps, x);
}

std::vector<Matrix> TranslationModel::positionBias(const WeightRef &table, int queries, int keys, bool bidirectional) const
{
    const int heads = table.cols;
    const Matrix values = table.toMatrix(); // (buckets, heads)
    std::vector<Matrix> bias(size_t(heads), Matrix(queries, keys));
    for (int i = 0; i < queries; ++i)
        for (int j = 0; j < keys; ++j) {
            const int bucket = relativePositionBucket(j - i, bidirectional, m_config.relativeBuckets, m_config.relativeMaxDistance);
            for (int h = 0; h < heads; ++h)
                bias[size_t(h)](i, j) = values(bucket, h);
        }
    return bias;
}

void TranslationModel::attendBlock(const AttentionBlock &block, int heads, int headDim, const Matrix &x, const Matrix &memory,
                                   const KernelOptions &kernel, const std::vector<Matrix> &bias, int threads, std::vector<Matrix> &maps,
                                   Matrix &out) const
{
    const LinearRun run{threads};
    Matrix q, k, v;
    applyLinear(block.query, x, q, run);       // (T, H·d)
    applyLinear(block.key, memory, k, run);    // (S, H·d)
    applyLinear(block.value, memory, v, run);  // (S, H·d)
    Matrix context(x.rows(), heads * headDim); // the heads side by side (T, H·d)
    maps.assign(size_t(heads), Matrix());
    for (int h = 0; h < heads; ++h) {
        KernelOptions options = kernel;
        options.bias = size_t(h) < bias.size() ? &bias[size_t(h)] : nullptr;
        attend(q.middleCols(h * headDim, headDim), k.middleCols(h * headDim, headDim), v.middleCols(h * headDim, headDim), options,
               maps[size_t(h)], context.middleCols(h * headDim, headDim));
    }
    applyLinear(block.output, context, out, run); // (T, C)
}

void TranslationModel::attentionSublayer(const AttentionBlock &block, AttentionKind kind, Matrix &x, const Matrix *memory,
                                         const KernelOptions &kernel, const std::vector<Matrix> &bias, int threads,
                                         std::vector<Matrix> &maps, std::vector<Matrix> &inputs) const
{
    Matrix attended;
    if (m_config.t5()) { // pre-norm: x + Attn(RMS(x))
        Matrix normed = x;
        normalise(block.norm, normed);
        attendBlock(block, m_config.heads(kind), m_config.headDim(kind), normed, memory ? *memory : normed, kernel, bias, threads, maps, attended);
        inputs.push_back(std::move(normed));
        x += attended;
        return;
    }
    // post-norm: LN(x + Attn(x))
    inputs.push_back(x);
    attendBlock(block, m_config.heads(kind), m_config.headDim(kind), x, memory ? *memory : x, kernel, bias, threads, maps, attended);
    x += attended;
    normalise(block.norm, x);
}

void TranslationModel::feedForward(const FeedForward &ffn, Matrix &x, int threads) const
{
    const LinearRun run{threads};
    Matrix normed;
    const Matrix *in = &x;
    if (m_config.t5()) {
        normed = x;
        normalise(ffn.norm, normed);
        in = &normed;
    }
    Matrix inner, out;
    applyLinear(ffn.in, *in, inner, run); // (T, ffn)
    applyActivation(inner, m_config.activation, threads);
    if (ffn.gate.weight.present()) { // gated: act(x·wi_0) ⊙ x·wi_1
        Matrix linear;
        applyLinear(ffn.gate, *in, linear, run);
        inner.array() *= linear.array();
    }
    applyLinear(ffn.out, inner, out, run); // (T, C)
    x += out;
    if (!m_config.t5())
        normalise(ffn.norm, x);
}

TranslationTrace TranslationModel::forward(const TranslationInput &input, int threads, const std::atomic<bool> *cancel,
                                           const TranslationTrace *encoded) const
{
    TranslationTrace trace;
    auto decoderMaps = std::make_shared<AttentionMaps>();
    auto crossMaps = std::make_shared<AttentionMaps>();
    const auto cancelled = [&] { return cancel && cancel->load(std::memory_order_relaxed); };

    if (encoded && encoded->encoderOutput.rows() == Eigen::Index(input.sourceIds.size())) {
        trace.encoder = encoded->encoder;
        trace.encoderInputs = encoded->encoderInputs;
        trace.encoderBias = encoded->encoderBias;
        trace.encoderOutput = encoded->encoderOutput;
    } else {
        trace.encoder = encode(input, threads, cancel, trace);
        if (trace.cancelled)
            return trace;
    }

    // Decoder. Marian: y = LN(y + CausalSelfAttn(y)); y = LN(y + CrossAttn(y, enc)); y = LN(y + FFN(y)).
    // T5: the same sublayers, each reading RMS(y) and adding to y; a final RMS norm.
    Matrix y = embed(m_decoderEmbedding, input.decoderIds); // (T, C)
    const int tokens = int(input.decoderIds.size());
    if (m_config.t5())
        trace.decoderBias = positionBias(m_decoderRelativeBias, tokens, tokens, false);
    const KernelOptions decoderKernel = kernelOptions(input, AttentionKind::Decoder);
    const KernelOptions crossKernel = kernelOptions(input, AttentionKind::Cross);
    for (const DecoderLayer &layer : m_decoder) {
        if (cancelled()) {
            trace.cancelled = true;
            return trace;
        }
        attentionSublayer(layer.self, AttentionKind::Decoder, y, nullptr, decoderKernel, trace.decoderBias, threads,
                          decoderMaps->emplace_back(), trace.decoderInputs);
        attentionSublayer(layer.cross, AttentionKind::Cross, y, &trace.encoderOutput, crossKernel, {}, threads, crossMaps->emplace_back(),
                          trace.crossInputs);
        feedForward(layer.ffn, y, threads);
    }
    if (m_config.t5())
        normalise(m_decoderFinalNorm, y);
    trace.decoderOutput = y;
    trace.decoder = std::move(decoderMaps);
    trace.cross = std::move(crossMaps);
    return trace;
}

SharedAttentionMaps TranslationModel::encode(const TranslationInput &input, int threads, const std::atomic<bool> *cancel,
                                            TranslationTrace &trace) const
{
    // Marian: x = LN(x + SelfAttn(x)); x = LN(x + FFN(x)). T5: x += SelfAttn(RMS(x)); x += FFN(RMS(x)); a final RMS norm.
    auto maps = std::make_shared<AttentionMaps>();
    Matrix x = embed(m_encoderEmbedding, input.sourceIds); // (S, C)
    const int tokens = int(input.sourceIds.size());
    if (m_config.t5())
        trace.encoderBias = positionBias(m_encoderRelativeBias, tokens, tokens, true);
    const KernelOptions kernel = kernelOptions(input, AttentionKind::Encoder);
    for (const EncoderLayer &layer : m_encoder) {
        if (cancel && cancel->load(std::memory_order_relaxed)) {
            trace.cancelled = true;
            return maps;
        }
        attentionSublayer(layer.self, AttentionKind::Encoder, x, nullptr, kernel, trace.encoderBias, threads, maps->emplace_back(),
                          trace.encoderInputs);
        feedForward(layer.ffn, x, threads);
    }
    if (m_config.t5())
        normalise(m_encoderFinalNorm, x);
    trace.encoderOutput = x; // Marian: the last layer's output, no final norm
    return maps;
}

RowVector TranslationModel::logits(const Eigen::Ref<const RowVector> &decoderHidden, int threads) const
{
    const int vocab = m_outputHead.rows;
    RowVector out(vocab);
    // T5 with a tied output first scales the decoder's output by d_model^−½.
    const RowVector h = m_config.scaleOutput ? RowVector(decoderHidden * float(1.0 / std::sqrt(double(m_config.hidden)))) : RowVector(decoderHidden);
    // Blocks of vocabulary rows, split over threads; a half-precision head is converted a block at a time.
    constexpr int kBlock = 2048;
    const int blocks = (vocab + kBlock - 1) / kBlock;
    parallelFor(threads, blocks, [&](int begin, int end) {
        Matrix block;
        for (int b = begin; b < end; ++b) {
            const int first = b * kBlock;
            const int count = std::min(kBlock, vocab - first);
            if (m_outputHead.isHalf()) {
                block.resize(count, m_outputHead.cols);
                m_outputHead.rowsAsFloat(first, count, block.data());
                out.segment(first, count).noalias() = h * block.transpose();
            } else {
                out.segment(first, count).noalias() = h * m_outputHead.matrix().middleRows(first, count).transpose();
            }
        }
    });
    if (m_logitsBias.present())
        out += m_logitsBias.row();
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
    const LinearRun run{2};
    Matrix q, k, v;
    // The whole layer's projections, as forward() computes them (its default two threads split the
    // outputs the same way), so the head's slice is the same bits.
    applyLinear(b.query, x, q, run);
    applyLinear(b.key, memory, k, run);
    applyLinear(b.value, memory, v, run);
    const int d = m_config.headDim(kind);
    Matrix weights;
    Matrix output(x.rows(), d);
    KernelOptions options = kernelOptions(input, kind);
    static const std::vector<Matrix> none; // cross-attention has no position bias
    const std::vector<Matrix> &bias = kind == AttentionKind::Encoder ? trace.encoderBias : kind == AttentionKind::Decoder ? trace.decoderBias : none;
    options.bias = size_t(head) < bias.size() ? &bias[size_t(head)] : nullptr;
    attend(q.middleCols(head * d, d), k.middleCols(head * d, d), v.middleCols(head * d, d), options, weights, output, &stages);
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
