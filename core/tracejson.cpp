#include "tracejson.h"

#include "workspace.h"

#include <QJsonArray>

#include <cmath>

namespace studio {

namespace {

// −∞ has no JSON spelling; a masked cell is written as null.
QJsonArray maskedToJson(const Matrix &masked)
{
    QJsonArray rows;
    for (Eigen::Index r = 0; r < masked.rows(); ++r) {
        QJsonArray row;
        for (Eigen::Index c = 0; c < masked.cols(); ++c) {
            const float value = masked(r, c);
            row.append(std::isinf(value) && value < 0 ? QJsonValue(QJsonValue::Null) : QJsonValue(double(value)));
        }
        rows.append(row);
    }
    return rows;
}

} // namespace

QJsonObject teachingTraceToJson(const TeachingTrace &trace, const TeachingConfig &config,
                                const std::vector<HeadWeights> &heads,
                                const AttentionSettings &settings, bool withStages)
{
    QJsonArray headsJson;
    for (size_t h = 0; h < trace.heads.size(); ++h) {
        const HeadTrace &head = trace.heads[h];
        QJsonObject headJson{
            {QStringLiteral("name"), heads[h].name},
            {QStringLiteral("weights"), matrixToJson(head.weights)},
        };
        if (withStages) {
            headJson.insert(QStringLiteral("w_q"), matrixToJson(heads[h].wQ));
            headJson.insert(QStringLiteral("w_k"), matrixToJson(heads[h].wK));
            headJson.insert(QStringLiteral("w_v"), matrixToJson(heads[h].wV));
            headJson.insert(QStringLiteral("q"), matrixToJson(head.q));
            headJson.insert(QStringLiteral("k"), matrixToJson(head.k));
            headJson.insert(QStringLiteral("v"), matrixToJson(head.v));
            headJson.insert(QStringLiteral("scores"), matrixToJson(head.scores));
            headJson.insert(QStringLiteral("scaled"), matrixToJson(head.scaled));
            headJson.insert(QStringLiteral("masked"), maskedToJson(head.masked));
            headJson.insert(QStringLiteral("output"), matrixToJson(head.output));
            headJson.insert(QStringLiteral("entropy"), vectorToJson(head.entropy));
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

    return QJsonObject{
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
            {QStringLiteral("input"), matrixToJson(trace.input)},
            {QStringLiteral("heads"), headsJson},
        }}},
    };
}

} // namespace studio
