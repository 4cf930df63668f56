#include "modelconfig.h"

#include <QJsonArray>

#include <cmath>

namespace studio {

QString architectureName(Architecture architecture)
{
    return architecture == Architecture::Gpt2 ? QStringLiteral("gpt2") : QStringLiteral("bert");
}

namespace {

// A positive whole number from the first key present, or a default (0 = required).
bool readSize(const QJsonObject &json, std::initializer_list<const char *> keys, int fallback, int *out, QString *error)
{
    for (const char *key : keys) {
        const QJsonValue value = json.value(QLatin1String(key));
        if (value.isUndefined() || value.isNull())
            continue;
        const double d = value.toDouble(-1);
        if (!value.isDouble() || d < 1 || d != std::floor(d) || d > 1e9) {
            *error = QStringLiteral("config.json: \"%1\" must be a positive whole number").arg(QLatin1String(key));
            return false;
        }
        *out = int(d);
        return true;
    }
    if (fallback > 0) {
        *out = fallback;
        return true;
    }
    *error = QStringLiteral("config.json: missing \"%1\"").arg(QLatin1String(*keys.begin()));
    return false;
}

} // namespace

Result<ModelConfig> parseModelConfig(const QJsonObject &json)
{
    using R = Result<ModelConfig>;
    ModelConfig config;
    QString error;
    const QString modelType = json.value(QStringLiteral("model_type")).toString();
    QString architectures;
    for (const QJsonValue &a : json.value(QStringLiteral("architectures")).toArray())
        architectures += (architectures.isEmpty() ? QString() : QStringLiteral(", ")) + a.toString();

    if (modelType == QStringLiteral("gpt2")) {
        config.architecture = Architecture::Gpt2;
        if (!readSize(json, {"n_layer"}, 0, &config.layers, &error) || !readSize(json, {"n_head"}, 0, &config.heads, &error)
            || !readSize(json, {"n_embd"}, 0, &config.hidden, &error) || !readSize(json, {"vocab_size"}, 0, &config.vocabSize, &error)
            || !readSize(json, {"n_positions", "n_ctx"}, 0, &config.maxPositions, &error)
            || !readSize(json, {"n_inner"}, 4 * std::max(config.hidden, 1), &config.intermediate, &error))
            return R::failure(error);
        config.layerNormEps = json.value(QStringLiteral("layer_norm_epsilon")).toDouble(1e-5);
        const QString activation = json.value(QStringLiteral("activation_function")).toString(QStringLiteral("gelu_new"));
        if (activation != QStringLiteral("gelu_new") && activation != QStringLiteral("gelu_pytorch_tanh")
            && activation != QStringLiteral("gelu"))
            return R::failure(QStringLiteral("config.json: activation_function \"%1\" is not supported (gelu_new, gelu_pytorch_tanh or gelu)").arg(activation));
        config.tanhGelu = activation != QStringLiteral("gelu");
        if (json.value(QStringLiteral("scale_attn_by_inverse_layer_idx")).toBool(false))
            return R::failure(QStringLiteral("config.json: scale_attn_by_inverse_layer_idx is not supported"));
    } else if (modelType == QStringLiteral("bert")) {
        config.architecture = Architecture::Bert;
        if (!readSize(json, {"num_hidden_layers"}, 0, &config.layers, &error)
            || !readSize(json, {"num_attention_heads"}, 0, &config.heads, &error)
            || !readSize(json, {"hidden_size"}, 0, &config.hidden, &error)
            || !readSize(json, {"intermediate_size"}, 0, &config.intermediate, &error)
            || !readSize(json, {"vocab_size"}, 0, &config.vocabSize, &error)
            || !readSize(json, {"max_position_embeddings"}, 0, &config.maxPositions, &error)
            || !readSize(json, {"type_vocab_size"}, 2, &config.typeVocabSize, &error))
            return R::failure(error);
        config.layerNormEps = json.value(QStringLiteral("layer_norm_eps")).toDouble(1e-12);
        const QString activation = json.value(QStringLiteral("hidden_act")).toString(QStringLiteral("gelu"));
        if (activation != QStringLiteral("gelu") && activation != QStringLiteral("gelu_new"))
            return R::failure(QStringLiteral("config.json: hidden_act \"%1\" is not supported (gelu or gelu_new)").arg(activation));
        config.tanhGelu = activation == QStringLiteral("gelu_new");
        const QString positions = json.value(QStringLiteral("position_embedding_type")).toString(QStringLiteral("absolute"));
        if (positions != QStringLiteral("absolute"))
            return R::failure(QStringLiteral("config.json: position_embedding_type \"%1\" is not supported (absolute only)").arg(positions));
    } else {
        return R::failure(QStringLiteral("config.json: model_type \"%1\"%2 is not supported; Attention Studio runs GPT-2 (gpt2) and BERT (bert) models")
                              .arg(modelType.isEmpty() ? QStringLiteral("(missing)") : modelType,
                                   architectures.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(architectures)));
    }
    if (config.hidden % config.heads != 0)
        return R::failure(QStringLiteral("config.json: hidden size %1 is not divisible by %2 heads").arg(config.hidden).arg(config.heads));
    if (!(config.layerNormEps > 0) || !std::isfinite(config.layerNormEps))
        return R::failure(QStringLiteral("config.json: the layer-norm epsilon must be a positive number"));
    return {config, {}};
}

} // namespace studio
