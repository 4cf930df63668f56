#include "tracejson.h"

#include "workspace.h"

#include <QJsonArray>

#include <cmath>

namespace studio {

namespace {

// Every cut is stated: how many tokens the text had, and how many were run.
QJsonObject truncationToJson(int from, int to)
{
    return {{QStringLiteral("from"), from}, {QStringLiteral("to"), to}};
}

// JSON has no spelling for NaN or ±∞, and a reader writes them as null: the spelling of "masked".
// So in a trace, a masked cell (−∞ in the masked stage) is null, and every other non-finite value is
// the string "NaN", "Infinity" or "-Infinity": an undefined number never looks like a masked one.
QJsonValue traceNumber(float value, bool maskedStage)
{
    if (std::isnan(value))
        return QStringLiteral("NaN");
    if (std::isinf(value)) {
        if (value < 0 && maskedStage)
            return QJsonValue(QJsonValue::Null);
        return value > 0 ? QStringLiteral("Infinity") : QStringLiteral("-Infinity");
    }
    return double(value);
}

QJsonArray traceMatrix(const Matrix &m, bool maskedStage = false)
{
    QJsonArray rows;
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
        QJsonArray row;
        for (Eigen::Index c = 0; c < m.cols(); ++c)
            row.append(traceNumber(m(r, c), maskedStage));
        rows.append(row);
    }
    return rows;
}

void insertStages(QJsonObject &headJson, const HeadTrace &head)
{
    const QJsonObject stages = headStagesToJson(head);
    for (auto it = stages.begin(); it != stages.end(); ++it)
        headJson.insert(it.key(), it.value());
}

} // namespace

QJsonObject headStagesToJson(const HeadTrace &head)
{
    return QJsonObject{
        {QStringLiteral("q"), traceMatrix(head.q)},
        {QStringLiteral("k"), traceMatrix(head.k)},
        {QStringLiteral("v"), traceMatrix(head.v)},
        {QStringLiteral("scores"), traceMatrix(head.scores)},
        {QStringLiteral("scaled"), traceMatrix(head.scaled)},
        {QStringLiteral("masked"), traceMatrix(head.masked, true)},
        {QStringLiteral("weights"), traceMatrix(head.weights)},
        {QStringLiteral("output"), traceMatrix(head.output)},
        {QStringLiteral("entropy"), vectorToJson(head.entropy)},
    };
}

QJsonObject modelTraceToJson(const Checkpoint &checkpoint, const PreparedInput &input, const ModelTrace &trace)
{
    const ModelConfig &config = checkpoint.config;
    QJsonArray layers;
    for (int l = 0; l < int(trace.attentions.size()); ++l) {
        QJsonArray heads;
        for (int h = 0; h < int(trace.attentions[size_t(l)].size()); ++h) {
            QJsonObject headJson{{QStringLiteral("weights"), traceMatrix(trace.attentions[size_t(l)][size_t(h)])}};
            const auto stages = trace.stages.find({l, h});
            if (stages != trace.stages.end())
                insertStages(headJson, stages->second);
            heads.append(headJson);
        }
        QJsonObject layerJson{{QStringLiteral("heads"), heads}};
        const auto layerInput = trace.layerInputs.find(l);
        if (layerInput != trace.layerInputs.end())
            layerJson.insert(QStringLiteral("input"), traceMatrix(layerInput->second));
        layers.append(layerJson);
    }
    QJsonArray ids, tokens, display, types;
    for (qsizetype i = 0; i < input.encoding.tokens.size(); ++i) {
        ids.append(input.encoding.ids[size_t(i)]);
        tokens.append(input.encoding.tokens.at(i));
        display.append(checkpoint.tokenizer->displayToken(input.encoding.tokens.at(i)));
        types.append(input.encoding.tokenTypes[size_t(i)]);
    }
    QJsonObject json{
        {QStringLiteral("model"), QJsonObject{
            {QStringLiteral("kind"), architectureName(config.architecture)},
            {QStringLiteral("name"), checkpoint.name},
            {QStringLiteral("layers"), config.layers},
            {QStringLiteral("heads"), config.heads},
            {QStringLiteral("d_model"), config.hidden},
            {QStringLiteral("d_head"), config.headDim()},
        }},
        {QStringLiteral("ids"), ids},
        {QStringLiteral("tokens"), tokens},
        {QStringLiteral("display_tokens"), display},
        {QStringLiteral("settings"), QJsonObject{
            {QStringLiteral("mask"), maskModeName(config.traits().causal ? MaskMode::Causal : MaskMode::None)},
            {QStringLiteral("temperature"), 1.0},
            {QStringLiteral("scale"), true},
        }},
        {QStringLiteral("layers"), layers},
    };
    if (config.traits().tokenTypes)
        json.insert(QStringLiteral("token_type_ids"), types);
    if (input.truncatedFrom > 0)
        json.insert(QStringLiteral("truncated"), truncationToJson(input.truncatedFrom, int(input.encoding.ids.size())));
    if (!checkpoint.model->nonFiniteTensors().isEmpty()) {
        QJsonArray warnings;
        for (const QString &name : checkpoint.model->nonFiniteTensors())
            warnings.append(QStringLiteral("tensor \"%1\" holds values that are not finite numbers (NaN or ±∞)").arg(name));
        json.insert(QStringLiteral("warnings"), warnings);
    }
    return json;
}

QJsonObject teachingTraceToJson(const TeachingTrace &trace, const TeachingConfig &config,
                                const std::vector<HeadWeights> &heads,
                                const AttentionSettings &settings, bool withStages)
{
    QJsonArray headsJson;
    for (size_t h = 0; h < trace.heads.size(); ++h) {
        const HeadTrace &head = trace.heads[h];
        QJsonObject headJson{
            {QStringLiteral("name"), heads[h].name},
            {QStringLiteral("weights"), traceMatrix(head.weights)},
        };
        if (withStages) {
            headJson.insert(QStringLiteral("w_q"), traceMatrix(heads[h].wQ));
            headJson.insert(QStringLiteral("w_k"), traceMatrix(heads[h].wK));
            headJson.insert(QStringLiteral("w_v"), traceMatrix(heads[h].wV));
            insertStages(headJson, head);
        }
        headsJson.append(headJson);
    }

    QJsonArray tokens;
    for (const TextToken &token : trace.tokens)
        tokens.append(token.text);
    QJsonArray maskedKeys;
    for (int key : settings.maskedKeys)
        maskedKeys.append(key);
    QJsonObject settingsJson{
        {QStringLiteral("mask"), maskModeName(settings.mask)},
        {QStringLiteral("temperature"), settings.temperature},
        {QStringLiteral("scale"), settings.scale},
    };
    if (settings.mask == MaskMode::Keys)
        settingsJson.insert(QStringLiteral("masked_keys"), maskedKeys);

    QJsonObject json{
        {QStringLiteral("model"), QJsonObject{
            {QStringLiteral("kind"), QStringLiteral("teaching")},
            {QStringLiteral("layers"), 1},
            {QStringLiteral("heads"), config.heads},
            {QStringLiteral("d_model"), config.dModel},
            {QStringLiteral("d_head"), config.dHead},
            {QStringLiteral("positional"), config.positional},
        }},
        {QStringLiteral("tokens"), tokens},
        {QStringLiteral("settings"), settingsJson},
        {QStringLiteral("layers"), QJsonArray{QJsonObject{
            {QStringLiteral("input"), traceMatrix(trace.input)},
            {QStringLiteral("heads"), headsJson},
        }}},
    };
    if (trace.truncatedFrom > 0)
        json.insert(QStringLiteral("truncated"), truncationToJson(trace.truncatedFrom, int(trace.tokens.size())));
    return json;
}

} // namespace studio
