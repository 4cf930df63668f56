#include "modelconfig.h"

#include <QJsonArray>

#include <cmath>
#include <numbers>
#include <optional>
#include <vector>

namespace studio {

namespace {

constexpr Architecture kArchitectures[] = {Architecture::Gpt2, Architecture::Bert, Architecture::Llama, Architecture::Mistral,
                                           Architecture::Qwen2};

ArchitectureTraits gpt2Traits()
{
    ArchitectureTraits t;
    t.modelType = QStringLiteral("gpt2");
    t.displayName = QStringLiteral("GPT-2");
    t.causal = true;
    t.normPlacement = NormPlacement::PreLN;
    t.positions = PositionKind::Learned;
    t.linearLayout = LinearLayout::InByOut;
    TensorNames &n = t.names;
    n.prefixes = {QString(), QStringLiteral("transformer.")};
    n.tokenEmbedding = QStringLiteral("wte.weight");
    n.positionEmbedding = QStringLiteral("wpe.weight");
    n.layerPrefix = QStringLiteral("h.%1.");
    n.attentionNorm = QStringLiteral("ln_1");
    n.fusedQkv = QStringLiteral("attn.c_attn");
    n.attentionOutput = QStringLiteral("attn.c_proj");
    n.mlpNorm = QStringLiteral("ln_2");
    n.mlpIn = QStringLiteral("mlp.c_fc");
    n.mlpOut = QStringLiteral("mlp.c_proj");
    n.finalNorm = QStringLiteral("ln_f");
    n.outputHead = QStringLiteral("lm_head.weight");
    return t;
}

ArchitectureTraits bertTraits()
{
    ArchitectureTraits t;
    t.modelType = QStringLiteral("bert");
    t.displayName = QStringLiteral("BERT");
    t.causal = false;
    t.normPlacement = NormPlacement::PostLN;
    t.normalisesEmbeddings = true;
    t.tokenTypes = true;
    t.positions = PositionKind::Learned;
    t.linearLayout = LinearLayout::OutByIn;
    TensorNames &n = t.names;
    n.prefixes = {QString(), QStringLiteral("bert.")};
    n.tokenEmbedding = QStringLiteral("embeddings.word_embeddings.weight");
    n.positionEmbedding = QStringLiteral("embeddings.position_embeddings.weight");
    n.typeEmbedding = QStringLiteral("embeddings.token_type_embeddings.weight");
    n.embeddingNorm = QStringLiteral("embeddings.LayerNorm");
    n.layerPrefix = QStringLiteral("encoder.layer.%1.");
    n.query = QStringLiteral("attention.self.query");
    n.key = QStringLiteral("attention.self.key");
    n.value = QStringLiteral("attention.self.value");
    n.attentionOutput = QStringLiteral("attention.output.dense");
    n.attentionNorm = QStringLiteral("attention.output.LayerNorm");
    n.mlpIn = QStringLiteral("intermediate.dense");
    n.mlpOut = QStringLiteral("output.dense");
    n.mlpNorm = QStringLiteral("output.LayerNorm");
    return t;
}

// Llama and the families built like it: pre-RMSNorm, rotary positions, separate q/k/v projections
// with grouped key/value heads, a gated SiLU MLP, Linear [out, in] weights under "model.".
ArchitectureTraits llamaTraits(const char *modelType, const char *displayName)
{
    ArchitectureTraits t;
    t.modelType = QLatin1String(modelType);
    t.displayName = QLatin1String(displayName);
    t.causal = true;
    t.norm = NormKind::RmsNorm;
    t.normPlacement = NormPlacement::PreLN;
    t.positions = PositionKind::Rotary;
    t.linearLayout = LinearLayout::OutByIn;
    t.gatedMlp = true;
    TensorNames &n = t.names;
    n.prefixes = {QStringLiteral("model."), QString()};
    n.tokenEmbedding = QStringLiteral("embed_tokens.weight");
    n.layerPrefix = QStringLiteral("layers.%1.");
    n.attentionNorm = QStringLiteral("input_layernorm");
    n.query = QStringLiteral("self_attn.q_proj");
    n.key = QStringLiteral("self_attn.k_proj");
    n.value = QStringLiteral("self_attn.v_proj");
    n.attentionOutput = QStringLiteral("self_attn.o_proj");
    n.mlpNorm = QStringLiteral("post_attention_layernorm");
    n.mlpGate = QStringLiteral("mlp.gate_proj");
    n.mlpIn = QStringLiteral("mlp.up_proj");
    n.mlpOut = QStringLiteral("mlp.down_proj");
    n.finalNorm = QStringLiteral("norm");
    n.outputHead = QStringLiteral("lm_head.weight");
    return t;
}

// The config.json keys of each size, per family.
struct SizeKeys {
    using Keys = std::vector<const char *>; // alternatives, the first present wins
    Keys layers, heads, hidden, intermediate, vocab, positions, types;
    const char *eps;
    const char *activation;
    double defaultEps;
    const char *defaultActivation;
};

SizeKeys sizeKeys(Architecture architecture)
{
    switch (architecture) {
    case Architecture::Gpt2:
        return {{"n_layer"}, {"n_head"}, {"n_embd"}, {"n_inner"}, {"vocab_size"}, {"n_positions", "n_ctx"}, {},
                "layer_norm_epsilon", "activation_function", 1e-5, "gelu_new"};
    case Architecture::Bert:
        return {{"num_hidden_layers"}, {"num_attention_heads"}, {"hidden_size"}, {"intermediate_size"}, {"vocab_size"},
                {"max_position_embeddings"}, {"type_vocab_size"}, "layer_norm_eps", "hidden_act", 1e-12, "gelu"};
    case Architecture::Llama:
    case Architecture::Mistral:
    case Architecture::Qwen2:
        return {{"num_hidden_layers"}, {"num_attention_heads"}, {"hidden_size"}, {"intermediate_size"}, {"vocab_size"},
                {"max_position_embeddings"}, {}, "rms_norm_eps", "hidden_act", 1e-6, "silu"};
    }
    Q_UNREACHABLE();
}

// Settings a family may carry that this forward pass does not implement: refused by name.
Status refuseUnsupported(Architecture architecture, const QJsonObject &json)
{
    switch (architecture) {
    case Architecture::Gpt2:
        if (json.value(QStringLiteral("scale_attn_by_inverse_layer_idx")).toBool(false))
            return Status::failure(QStringLiteral("config.json: scale_attn_by_inverse_layer_idx is not supported"));
        return Status::success();
    case Architecture::Bert: {
        const QString positions = json.value(QStringLiteral("position_embedding_type")).toString(QStringLiteral("absolute"));
        if (positions != QStringLiteral("absolute"))
            return Status::failure(QStringLiteral("config.json: position_embedding_type \"%1\" is not supported (absolute only)").arg(positions));
        return Status::success();
    }
    case Architecture::Llama:
    case Architecture::Mistral:
    case Architecture::Qwen2: {
        const double partial = json.value(QStringLiteral("partial_rotary_factor")).toDouble(1.0);
        if (partial != 1.0)
            return Status::failure(QStringLiteral("config.json: partial_rotary_factor %1 is not supported (rotary positions on the whole head only)").arg(partial));
        if (json.value(QStringLiteral("pretraining_tp")).toInt(1) != 1)
            return Status::failure(QStringLiteral("config.json: pretraining_tp other than 1 is not supported"));
        return Status::success();
    }
    }
    Q_UNREACHABLE();
}

// A number from the JSON, or the default when absent or null; NaN for a value of the wrong type.
double numberOr(const QJsonObject &json, const QString &key, double fallback)
{
    const QJsonValue value = json.value(key);
    if (value.isUndefined() || value.isNull())
        return fallback;
    return value.isDouble() ? value.toDouble() : std::nan("");
}

// Rotary positions as transformers reads them: rope_theta and rope_scaling ({"rope_type" or
// "type": "linear" | "llama3", "factor", ...}), or the newer rope_parameters object holding both.
// Every other kind (dynamic, yarn, longrope, ...) is refused by name: it would run wrongly.
Result<RopeConfig> parseRope(const QJsonObject &json)
{
    using R = Result<RopeConfig>;
    RopeConfig rope;
    const QJsonValue parameters = json.value(QStringLiteral("rope_parameters"));
    const QJsonValue scalingValue = parameters.isObject() ? parameters : json.value(QStringLiteral("rope_scaling"));
    const QJsonObject scaling = scalingValue.toObject();
    if (!scalingValue.isObject() && !scalingValue.isNull() && !scalingValue.isUndefined())
        return R::failure(QStringLiteral("config.json: rope_scaling must be an object or null"));
    rope.theta = numberOr(scaling, QStringLiteral("rope_theta"), numberOr(json, QStringLiteral("rope_theta"), 10000.0));
    if (!(rope.theta > 1.0) || !std::isfinite(rope.theta))
        return R::failure(QStringLiteral("config.json: rope_theta must be a number greater than 1"));
    QString kind = scaling.value(QStringLiteral("rope_type")).toString(scaling.value(QStringLiteral("type")).toString(QStringLiteral("default")));
    if (kind == QStringLiteral("default")) {
        rope.scaling = RopeScaling::None;
    } else if (kind == QStringLiteral("linear")) {
        rope.scaling = RopeScaling::Linear;
    } else if (kind == QStringLiteral("llama3")) {
        rope.scaling = RopeScaling::Llama3;
    } else {
        return R::failure(QStringLiteral("config.json: rotary scaling \"%1\" is not supported (default, linear and llama3 are)").arg(kind));
    }
    if (rope.scaling != RopeScaling::None) {
        rope.factor = numberOr(scaling, QStringLiteral("factor"), std::nan(""));
        if (!(rope.factor >= 1.0) || !std::isfinite(rope.factor))
            return R::failure(QStringLiteral("config.json: the %1 rotary scaling needs a \"factor\" of at least 1").arg(kind));
    }
    if (rope.scaling == RopeScaling::Llama3) {
        rope.lowFreqFactor = numberOr(scaling, QStringLiteral("low_freq_factor"), std::nan(""));
        rope.highFreqFactor = numberOr(scaling, QStringLiteral("high_freq_factor"), std::nan(""));
        const double original = numberOr(scaling, QStringLiteral("original_max_position_embeddings"), std::nan(""));
        if (!(rope.lowFreqFactor > 0) || !(rope.highFreqFactor > rope.lowFreqFactor) || !std::isfinite(rope.highFreqFactor)
            || !(original >= 1) || original > double(kMaxCount) || original != std::floor(original))
            return R::failure(QStringLiteral("config.json: the llama3 rotary scaling needs low_freq_factor < high_freq_factor and "
                                             "original_max_position_embeddings"));
        rope.originalMaxPositions = int(original);
    }
    return {rope, {}};
}

// Which layers attend through a sliding window, and how wide: Mistral's window covers every layer;
// Qwen2's only the layers from max_window_layers on, and only with use_sliding_window; an explicit
// layer_types list ("sliding_attention" / "full_attention") wins over both.
Result<std::vector<int>> parseSlidingWindows(Architecture architecture, const QJsonObject &json, int layers)
{
    using R = Result<std::vector<int>>;
    std::vector<int> windows(size_t(layers), 0);
    bool used = false;
    int firstLayer = 0;
    switch (architecture) {
    case Architecture::Gpt2:
    case Architecture::Bert:
    case Architecture::Llama:
        return {windows, {}};
    case Architecture::Mistral:
        used = true;
        break;
    case Architecture::Qwen2: {
        used = json.value(QStringLiteral("use_sliding_window")).toBool(false);
        const Result<int> from = readSize(json, {"max_window_layers"}, kMaxLayers, 28);
        if (!from)
            return R::failure(from.error);
        firstLayer = *from.value;
        break;
    }
    }
    const QJsonValue width = json.value(QStringLiteral("sliding_window"));
    if (!used || width.isNull() || width.isUndefined())
        return {windows, {}};
    const Result<int> window = readSize(json, {"sliding_window"}, kMaxCount);
    if (!window)
        return R::failure(window.error);
    const QJsonArray types = json.value(QStringLiteral("layer_types")).toArray();
    if (!types.isEmpty() && types.size() != layers)
        return R::failure(QStringLiteral("config.json: layer_types lists %1 layers, the model has %2").arg(types.size()).arg(layers));
    for (int l = 0; l < layers; ++l) {
        bool sliding = l >= firstLayer;
        if (!types.isEmpty()) {
            const QString type = types.at(l).toString();
            if (type != QStringLiteral("sliding_attention") && type != QStringLiteral("full_attention"))
                return R::failure(QStringLiteral("config.json: layer type \"%1\" is not supported").arg(type));
            sliding = type == QStringLiteral("sliding_attention");
        }
        windows[size_t(l)] = sliding ? *window.value : 0;
    }
    return {windows, {}};
}

} // namespace


// A positive whole number of at most `largest` from the first key present, or a default
// (0 = required).
Result<int> readSize(const QJsonObject &json, const std::vector<const char *> &keys, qint64 largest, qint64 fallback)
{
    for (const char *key : keys) {
        const QJsonValue value = json.value(QLatin1String(key));
        if (value.isUndefined() || value.isNull())
            continue;
        const double d = value.toDouble(-1);
        if (!value.isDouble() || d < 1 || d != std::floor(d))
            return Result<int>::failure(QStringLiteral("config.json: \"%1\" must be a positive whole number").arg(QLatin1String(key)));
        if (d > double(largest))
            return Result<int>::failure(QStringLiteral("config.json: \"%1\" is %2, more than any model Attention Studio runs (at most %3)")
                                            .arg(QLatin1String(key)).arg(d, 0, 'f', 0).arg(largest));
        return {int(d), {}};
    }
    if (fallback > largest)
        return Result<int>::failure(QStringLiteral("config.json: the default of \"%1\" (%2) is more than any model Attention Studio runs")
                                        .arg(QLatin1String(*keys.begin())).arg(fallback));
    if (fallback > 0)
        return {int(fallback), {}};
    return Result<int>::failure(QStringLiteral("config.json: missing \"%1\"").arg(QLatin1String(*keys.begin())));
}

// Hugging Face's names: "gelu_new" and "gelu_pytorch_tanh" are the tanh approximation, "gelu"
// the exact erf form.
std::optional<Activation> activationFromConfigName(const QString &name)
{
    if (name == QStringLiteral("gelu_new") || name == QStringLiteral("gelu_pytorch_tanh"))
        return Activation::GeluTanh;
    if (name == QStringLiteral("gelu"))
        return Activation::GeluErf;
    if (name == QStringLiteral("silu") || name == QStringLiteral("swish"))
        return Activation::Silu;
    if (name == QStringLiteral("relu"))
        return Activation::Relu;
    return std::nullopt;
}


const ArchitectureTraits &architectureTraits(Architecture architecture)
{
    static const ArchitectureTraits gpt2 = gpt2Traits();
    static const ArchitectureTraits bert = bertTraits();
    static const ArchitectureTraits llama = llamaTraits("llama", "Llama");
    static const ArchitectureTraits mistral = llamaTraits("mistral", "Mistral");
    static const ArchitectureTraits qwen2 = llamaTraits("qwen2", "Qwen2");
    switch (architecture) {
    case Architecture::Gpt2: return gpt2;
    case Architecture::Bert: return bert;
    case Architecture::Llama: return llama;
    case Architecture::Mistral: return mistral;
    case Architecture::Qwen2: return qwen2;
    }
    Q_UNREACHABLE();
}

QString positionKindName(PositionKind kind)
{
    switch (kind) {
    case PositionKind::Learned: return QStringLiteral("learned");
    case PositionKind::Sinusoidal: return QStringLiteral("sinusoidal");
    case PositionKind::Rotary: return QStringLiteral("rotary");
    case PositionKind::None: return QStringLiteral("none");
    }
    Q_UNREACHABLE();
}

std::vector<double> RopeConfig::inverseFrequencies(int headDim) const
{
    std::vector<double> frequencies(size_t(std::max(0, headDim / 2)));
    for (size_t i = 0; i < frequencies.size(); ++i) {
        const double base = std::pow(theta, -2.0 * double(i) / double(headDim));
        switch (scaling) {
        case RopeScaling::None:
            frequencies[i] = base;
            break;
        case RopeScaling::Linear: // positions divided by the factor
            frequencies[i] = base / factor;
            break;
        case RopeScaling::Llama3: {
            // Long wavelengths slowed by the factor, short ones kept, the band between blended.
            const double wavelength = 2.0 * std::numbers::pi / base;
            const double lowFrequencyWavelength = originalMaxPositions / lowFreqFactor;
            const double highFrequencyWavelength = originalMaxPositions / highFreqFactor;
            if (wavelength < highFrequencyWavelength) {
                frequencies[i] = base;
            } else if (wavelength > lowFrequencyWavelength) {
                frequencies[i] = base / factor;
            } else {
                const double smooth = (originalMaxPositions / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                frequencies[i] = (1.0 - smooth) * base / factor + smooth * base;
            }
            break;
        }
        }
    }
    return frequencies;
}

QString architectureName(Architecture architecture)
{
    return architectureTraits(architecture).modelType;
}

QString activationName(Activation activation)
{
    switch (activation) {
    case Activation::GeluTanh: return QStringLiteral("gelu_new");
    case Activation::GeluErf: return QStringLiteral("gelu");
    case Activation::Silu: return QStringLiteral("silu");
    case Activation::Relu: return QStringLiteral("relu");
    }
    Q_UNREACHABLE();
}

Result<ModelConfig> parseModelConfig(const QJsonObject &json)
{
    using R = Result<ModelConfig>;
    const QString modelType = json.value(QStringLiteral("model_type")).toString();
    std::optional<Architecture> architecture;
    QStringList supported;
    for (Architecture candidate : kArchitectures) {
        supported.append(QStringLiteral("%1 (%2)").arg(architectureTraits(candidate).displayName, architectureName(candidate)));
        if (architectureName(candidate) == modelType)
            architecture = candidate;
    }
    if (!architecture) {
        QString architectures;
        for (const QJsonValue &a : json.value(QStringLiteral("architectures")).toArray())
            architectures += (architectures.isEmpty() ? QString() : QStringLiteral(", ")) + a.toString();
        return R::failure(QStringLiteral("config.json: model_type \"%1\"%2 is not supported; Attention Studio runs %3 models")
                              .arg(modelType.isEmpty() ? QStringLiteral("(missing)") : modelType,
                                   architectures.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(architectures),
                                   supported.join(QStringLiteral(" and "))));
    }

    ModelConfig config;
    config.architecture = *architecture;
    const SizeKeys keys = sizeKeys(config.architecture);
    const ArchitectureTraits &traits = config.traits();
    struct Required {
        const SizeKeys::Keys &names;
        int *target;
        qint64 largest;
    };
    const Required required[] = {
        {keys.layers, &config.layers, kMaxLayers}, {keys.heads, &config.heads, kMaxLayers}, {keys.hidden, &config.hidden, kMaxWidth},
        {keys.vocab, &config.vocabSize, kMaxCount}, {keys.positions, &config.maxPositions, kMaxCount}};
    for (const auto &[names, target, largest] : required) {
        const Result<int> size = readSize(json, names, largest);
        if (!size)
            return R::failure(size.error);
        *target = *size.value;
    }
    // GPT-2's MLP is 4 × d_model wide unless n_inner says otherwise; BERT states its width.
    const Result<int> intermediate = readSize(json, keys.intermediate, kMaxWidth,
                                              config.architecture == Architecture::Gpt2 ? 4 * qint64(config.hidden) : 0);
    if (!intermediate)
        return R::failure(intermediate.error);
    config.intermediate = *intermediate.value;
    if (traits.tokenTypes) {
        const Result<int> types = readSize(json, keys.types, kMaxCount, 2);
        if (!types)
            return R::failure(types.error);
        config.typeVocabSize = *types.value;
    }
    config.normEps = json.value(QLatin1String(keys.eps)).toDouble(keys.defaultEps);
    const QString activation = json.value(QLatin1String(keys.activation)).toString(QLatin1String(keys.defaultActivation));
    const std::optional<Activation> parsedActivation = activationFromConfigName(activation);
    if (!parsedActivation)
        return R::failure(QStringLiteral("config.json: %1 \"%2\" is not supported (gelu_new, gelu_pytorch_tanh, gelu, silu or relu)")
                              .arg(QLatin1String(keys.activation), activation));
    config.activation = *parsedActivation;
    if (const Status supportedSettings = refuseUnsupported(config.architecture, json); !supportedSettings)
        return R::failure(supportedSettings.error);
    if (!(config.normEps > 0) || !std::isfinite(config.normEps))
        return R::failure(QStringLiteral("config.json: the norm epsilon must be a positive number"));

    switch (traits.positions) {
    case PositionKind::Rotary: {
        // Grouped key/value heads (absent: plain multi-head), an explicit head size (absent or
        // null: hidden / heads), biases where the family or the config says, rotary positions.
        const Result<int> kvHeads = readSize(json, {"num_key_value_heads"}, kMaxLayers, config.heads);
        if (!kvHeads)
            return R::failure(kvHeads.error);
        config.kvHeads = *kvHeads.value;
        if (config.heads % config.kvHeads != 0)
            return R::failure(QStringLiteral("config.json: %1 attention heads cannot share %2 key/value heads evenly")
                                  .arg(config.heads).arg(config.kvHeads));
        if (config.hidden % config.heads != 0 && (json.value(QStringLiteral("head_dim")).isUndefined() || json.value(QStringLiteral("head_dim")).isNull()))
            return R::failure(QStringLiteral("config.json: hidden size %1 is not divisible by %2 heads, and there is no head_dim").arg(config.hidden).arg(config.heads));
        const Result<int> headDim = readSize(json, {"head_dim"}, kMaxWidth, qint64(config.hidden) / config.heads);
        if (!headDim)
            return R::failure(headDim.error);
        config.headDimension = *headDim.value;
        if (config.headDimension % 2 != 0)
            return R::failure(QStringLiteral("config.json: head_dim %1 is odd: rotary positions rotate pairs").arg(config.headDimension));
        if (qint64(config.heads) * config.headDimension > kMaxWidth)
            return R::failure(QStringLiteral("config.json: %1 heads of %2 are wider than any model Attention Studio runs").arg(config.heads).arg(config.headDimension));
        const Result<RopeConfig> rope = parseRope(json);
        if (!rope)
            return R::failure(rope.error);
        config.rope = *rope.value;
        const bool qwen = config.architecture == Architecture::Qwen2;
        const bool attentionBias = json.value(QStringLiteral("attention_bias")).toBool(false);
        config.qkvBias = qwen || attentionBias;    // Qwen2: biases on q, k and v only
        config.outputBias = !qwen && attentionBias;
        config.mlpBias = json.value(QStringLiteral("mlp_bias")).toBool(false);
        const Result<std::vector<int>> windows = parseSlidingWindows(config.architecture, json, config.layers);
        if (!windows)
            return R::failure(windows.error);
        config.slidingWindows = *windows.value;
        config.tiedOutput = json.value(QStringLiteral("tie_word_embeddings")).toBool(false);
        break;
    }
    case PositionKind::Learned:
    case PositionKind::Sinusoidal:
    case PositionKind::None:
        config.kvHeads = config.heads;
        if (config.hidden % config.heads != 0)
            return R::failure(QStringLiteral("config.json: hidden size %1 is not divisible by %2 heads").arg(config.hidden).arg(config.heads));
        config.headDimension = config.hidden / config.heads;
        config.tiedOutput = json.value(QStringLiteral("tie_word_embeddings")).toBool(true);
        break;
    }
    return {config, {}};
}

} // namespace studio
