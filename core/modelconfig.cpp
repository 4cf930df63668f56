#include "modelconfig.h"

#include <QJsonArray>

#include <cmath>
#include <optional>
#include <vector>

namespace studio {

namespace {

constexpr Architecture kArchitectures[] = {Architecture::Gpt2, Architecture::Bert};

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

// Sizes beyond any real model are refused before anything is allocated or multiplied, so every
// product of two sizes fits comfortably in 64 bits and each size in an int.
constexpr qint64 kMaxWidth = 1 << 20;  // d_model, MLP width
constexpr qint64 kMaxCount = 1 << 24;  // vocabulary, positions, token types
constexpr qint64 kMaxLayers = 1 << 12; // layers, heads

// A positive whole number of at most `largest` from the first key present, or a default
// (0 = required).
Result<int> readSize(const QJsonObject &json, const std::vector<const char *> &keys, qint64 largest, qint64 fallback = 0)
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
    }
    Q_UNREACHABLE();
}

// Hugging Face's names: "gelu_new" and "gelu_pytorch_tanh" are the tanh approximation, "gelu"
// the exact erf form.
std::optional<Activation> activationFromConfigName(const QString &name)
{
    if (name == QStringLiteral("gelu_new") || name == QStringLiteral("gelu_pytorch_tanh"))
        return Activation::GeluTanh;
    if (name == QStringLiteral("gelu"))
        return Activation::GeluErf;
    return std::nullopt;
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
    }
    Q_UNREACHABLE();
}

} // namespace

const ArchitectureTraits &architectureTraits(Architecture architecture)
{
    static const ArchitectureTraits gpt2 = gpt2Traits();
    static const ArchitectureTraits bert = bertTraits();
    switch (architecture) {
    case Architecture::Gpt2: return gpt2;
    case Architecture::Bert: return bert;
    }
    Q_UNREACHABLE();
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
    config.kvHeads = config.heads;
    config.normEps = json.value(QLatin1String(keys.eps)).toDouble(keys.defaultEps);
    const QString activation = json.value(QLatin1String(keys.activation)).toString(QLatin1String(keys.defaultActivation));
    const std::optional<Activation> parsedActivation = activationFromConfigName(activation);
    if (!parsedActivation)
        return R::failure(QStringLiteral("config.json: %1 \"%2\" is not supported (gelu_new, gelu_pytorch_tanh or gelu)")
                              .arg(QLatin1String(keys.activation), activation));
    config.activation = *parsedActivation;
    if (const Status supportedSettings = refuseUnsupported(config.architecture, json); !supportedSettings)
        return R::failure(supportedSettings.error);
    if (config.hidden % config.heads != 0)
        return R::failure(QStringLiteral("config.json: hidden size %1 is not divisible by %2 heads").arg(config.hidden).arg(config.heads));
    if (!(config.normEps > 0) || !std::isfinite(config.normEps))
        return R::failure(QStringLiteral("config.json: the layer-norm epsilon must be a positive number"));
    return {config, {}};
}

} // namespace studio
