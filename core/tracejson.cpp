#include "tracejson.h"

#include "aggregation.h"
#include "attentionflow.h"
#include "prediction.h"

#include "workspace.h"

#include <QJsonArray>
#include <QJsonObject>

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
// the string "NaN", "Infinity" or "-Infinity".
void writeTraceNumber(JsonStream &out, float value, bool maskedStage)
{
    if (std::isfinite(value))
        out.number(double(value));
    else if (std::isnan(value))
        out.string(QStringLiteral("NaN"));
    else if (value < 0 && maskedStage)
        out.null();
    else
        out.string(value > 0 ? QStringLiteral("Infinity") : QStringLiteral("-Infinity"));
}

void writeVector(JsonStream &out, const QString &name, const Vector &v)
{
    out.key(name);
    out.beginArray();
    for (Eigen::Index i = 0; i < v.size(); ++i)
        writeTraceNumber(out, v[i], false);
    out.endArray();
}

} // namespace

namespace {

// A matrix as an array of rows (an element of the array being written).
void writeTraceRows(JsonStream &out, const Matrix &m, bool maskedStage)
{
    out.beginArray();
    for (Eigen::Index r = 0; r < m.rows(); ++r) {
        out.beginArray();
        for (Eigen::Index c = 0; c < m.cols(); ++c)
            writeTraceNumber(out, m(r, c), maskedStage);
        out.endArray();
    }
    out.endArray();
}

} // namespace

void writeTraceMatrix(JsonStream &out, const QString &name, const Matrix &m, bool maskedStage)
{
    out.key(name);
    writeTraceRows(out, m, maskedStage);
}

void writeHeadStages(JsonStream &out, const HeadTrace &head)
{
    writeTraceMatrix(out, QStringLiteral("q"), head.q);
    writeTraceMatrix(out, QStringLiteral("k"), head.k);
    writeTraceMatrix(out, QStringLiteral("v"), head.v);
    writeTraceMatrix(out, QStringLiteral("scores"), head.scores);
    writeTraceMatrix(out, QStringLiteral("scaled"), head.scaled);
    writeTraceMatrix(out, QStringLiteral("masked"), head.masked, true);
    writeTraceMatrix(out, QStringLiteral("weights"), head.weights);
    writeTraceMatrix(out, QStringLiteral("output"), head.output);
    writeVector(out, QStringLiteral("entropy"), head.entropy);
    if (head.qPreRope.size() > 0) { // rotary models: q and k above are after the rotation
        writeTraceMatrix(out, QStringLiteral("q_pre_rope"), head.qPreRope);
        writeTraceMatrix(out, QStringLiteral("k_pre_rope"), head.kPreRope);
    }
}

void writeNonFiniteWarnings(JsonStream &out, const QStringList &tensors)
{
    if (tensors.isEmpty())
        return;
    QJsonArray warnings;
    for (const QString &name : tensors)
        warnings.append(QStringLiteral("tensor \"%1\" holds values that are not finite numbers (NaN or ±∞)").arg(name));
    out.key(QStringLiteral("warnings"));
    out.value(warnings);
}

ModelTraceWriter::ModelTraceWriter(JsonStream &out, const Checkpoint &checkpoint, const PreparedInput &input)
    : m_out(out), m_checkpoint(checkpoint), m_input(input)
{
}

void ModelTraceWriter::begin()
{
    const ModelConfig &config = m_checkpoint.config;
    const Encoding &encoding = m_input.encoding;
    QJsonArray ids, tokens, display, types;
    for (qsizetype i = 0; i < encoding.tokens.size(); ++i) {
        ids.append(encoding.ids[size_t(i)]);
        tokens.append(encoding.tokens.at(i));
        display.append(m_checkpoint.tokenizer->displayToken(encoding.tokens.at(i)));
        types.append(encoding.tokenTypes[size_t(i)]);
    }
    m_out.beginObject();
    m_out.key(QStringLiteral("model"));
    m_out.value(QJsonObject{
        {QStringLiteral("kind"), architectureName(config.architecture)},
        {QStringLiteral("name"), m_checkpoint.name},
        {QStringLiteral("layers"), config.layers},
        {QStringLiteral("heads"), config.heads},
        {QStringLiteral("d_model"), config.hidden},
        {QStringLiteral("d_head"), config.headDim()},
        {QStringLiteral("kv_heads"), config.kvHeads},
        {QStringLiteral("positions"), positionKindName(config.traits().positions)},
    });
    m_out.key(QStringLiteral("ids"));
    m_out.value(ids);
    m_out.key(QStringLiteral("tokens"));
    m_out.value(tokens);
    m_out.key(QStringLiteral("display_tokens"));
    m_out.value(display);
    if (config.traits().tokenTypes) {
        m_out.key(QStringLiteral("token_type_ids"));
        m_out.value(types);
    }
    m_out.key(QStringLiteral("settings"));
    m_out.value(QJsonObject{
        {QStringLiteral("mask"), maskModeName(config.traits().causal ? MaskMode::Causal : MaskMode::None)},
        {QStringLiteral("temperature"), 1.0},
        {QStringLiteral("scale"), true},
    });
    if (m_input.truncatedFrom > 0) {
        m_out.key(QStringLiteral("truncated"));
        m_out.value(truncationToJson(m_input.truncatedFrom, int(encoding.ids.size())));
    }
    if (m_excludeSpecial) {
        QJsonArray special;
        m_keep.assign(size_t(encoding.tokens.size()), true);
        for (qsizetype i = 0; i < encoding.tokens.size(); ++i) {
            if (m_checkpoint.tokenizer->isSpecial(encoding.tokens.at(i))) {
                m_keep[size_t(i)] = false;
                special.append(int(i));
            }
        }
        m_out.key(QStringLiteral("special_tokens"));
        m_out.value(special);
        m_out.key(QStringLiteral("display_transform"));
        m_out.string(QStringLiteral("weights without the special tokens' rows and columns, each row renormalised"));
    }
    writeNonFiniteWarnings(m_out, m_checkpoint.model->nonFiniteTensors());
    m_out.key(QStringLiteral("layers"));
    m_out.beginArray();
}

void ModelTraceWriter::writeLayer(int layer, ModelTrace &trace)
{
    m_out.beginObject();
    if (const auto input = trace.layerInputs.find(layer); input != trace.layerInputs.end()) {
        writeTraceMatrix(m_out, QStringLiteral("input"), input->second);
        trace.layerInputs.erase(input);
    }
    const ModelConfig &config = m_checkpoint.config;
    if (const int window = config.slidingWindow(layer); window > 0) {
        m_out.key(QStringLiteral("sliding_window"));
        m_out.integer(window);
    }
    m_out.key(QStringLiteral("heads"));
    m_out.beginArray();
    std::vector<Matrix> &maps = trace.attentions[size_t(layer)];
    if (m_rollout) // from the maps before they are freed: R_l = Â_l · R_{l−1}
        m_rollouts.push_back(rolloutStep(m_rollouts.empty() ? Matrix() : m_rollouts.back(), maps));
    if (m_flow)
        m_mixed.push_back(residualMixed(maps));
    if (m_valueWeighted && size_t(layer) < trace.valueNorms.size()) {
        std::vector<Matrix> &values = m_values.emplace_back();
        for (int h = 0; h < int(maps.size()); ++h)
            values.push_back(valueWeighted(maps[size_t(h)], trace.valueNorms[size_t(layer)].col(h)));
    }
    for (int h = 0; h < int(maps.size()); ++h) {
        m_out.beginObject();
        // Which key/value head it reads (shared with its group), and its attention sink.
        m_out.key(QStringLiteral("kv_head"));
        m_out.integer(config.kvHeadOf(h));
        m_out.key(QStringLiteral("first_token_share"));
        m_out.number(firstTokenShare(maps[size_t(h)]));
        if (const auto stages = trace.stages.find({layer, h}); stages != trace.stages.end()) {
            if (m_excludeSpecial) // the stages as computed; only the weights are transformed
                stages->second.weights = withoutTokens(stages->second.weights, m_keep);
            writeHeadStages(m_out, stages->second); // its weights are the map's
            trace.stages.erase(stages);
        } else {
            writeTraceMatrix(m_out, QStringLiteral("weights"), m_excludeSpecial ? withoutTokens(maps[size_t(h)], m_keep) : maps[size_t(h)]);
        }
        maps[size_t(h)] = Matrix();
        m_out.endObject();
    }
    m_out.endArray();
    m_out.endObject();
}

void ModelTraceWriter::end(const ModelTrace &trace)
{
    m_out.endArray();
    // How the linear layers multiplied, and for bf16 how far its attention weights are from fp32's.
    m_out.key(QStringLiteral("precision"));
    m_out.value(QJsonObject{{QStringLiteral("mode"), precisionName(trace.precision)},
                            {QStringLiteral("max_deviation"), trace.maxDeviation}});
    if (m_predict > 0)
        writeNextTokens(m_out, m_checkpoint, trace, m_predict);
    if (m_rollout)
        writeRollout(m_out, m_rollouts);
    if (m_flow) {
        const std::optional<std::vector<Matrix>> flow = attentionFlowFromMixed(m_mixed);
        m_out.key(QStringLiteral("flow"));
        m_out.beginArray();
        for (const Matrix &m : flow.value_or(std::vector<Matrix>()))
            writeTraceRows(m_out, m, false);
        m_out.endArray();
    }
    if (m_valueWeighted) {
        m_out.key(QStringLiteral("value_weighted"));
        m_out.beginArray();
        for (const std::vector<Matrix> &heads : m_values) {
            m_out.beginArray();
            for (const Matrix &m : heads)
                writeTraceRows(m_out, m, false);
            m_out.endArray();
        }
        m_out.endArray();
    }
    m_out.endObject();
}

void writeNextTokens(JsonStream &out, const Checkpoint &checkpoint, const ModelTrace &trace, int k)
{
    out.key(QStringLiteral("next_tokens"));
    out.beginArray();
    if (trace.finalHidden.rows() > 0) {
        const RowVector logits = checkpoint.model->logits(trace.finalHidden.row(trace.finalHidden.rows() - 1));
        for (const TokenChoice &choice : topTokens(logits, k)) {
            const QString token = checkpoint.tokenizer->tokenForId(choice.id);
            out.value(QJsonObject{
                {QStringLiteral("id"), choice.id},
                {QStringLiteral("token"), token},
                {QStringLiteral("display"), checkpoint.tokenizer->displayToken(token)},
                {QStringLiteral("logit"), double(choice.logit)},
                {QStringLiteral("prob"), choice.probability},
            });
        }
    }
    out.endArray();
}

void writeRollout(JsonStream &out, const std::vector<Matrix> &rollout)
{
    out.key(QStringLiteral("rollout"));
    out.beginArray();
    for (const Matrix &m : rollout)
        writeTraceRows(out, m, false);
    out.endArray();
}

void writeTeachingTrace(JsonStream &out, const TeachingTrace &trace, const TeachingConfig &config,
                        const std::vector<HeadWeights> &heads, const AttentionSettings &settings, bool withStages,
                        const TeachingTraceExtras &extras)
{
    out.beginObject();
    out.key(QStringLiteral("model"));
    out.value(QJsonObject{
        {QStringLiteral("kind"), QStringLiteral("teaching")},
        {QStringLiteral("layers"), 1},
        {QStringLiteral("heads"), config.heads},
        {QStringLiteral("d_model"), config.dModel},
        {QStringLiteral("d_head"), config.dHead},
        {QStringLiteral("positional"), config.positional},
    });
    QJsonArray tokens;
    for (const TextToken &token : trace.tokens)
        tokens.append(token.text);
    out.key(QStringLiteral("tokens"));
    out.value(tokens);
    QJsonObject settingsJson{
        {QStringLiteral("mask"), maskModeName(settings.mask)},
        {QStringLiteral("temperature"), settings.temperature},
        {QStringLiteral("scale"), settings.scale},
    };
    if (!settings.maskedKeys.isEmpty()) {
        QJsonArray maskedKeys;
        for (int key : settings.maskedKeys)
            maskedKeys.append(key);
        settingsJson.insert(QStringLiteral("masked_keys"), maskedKeys);
    }
    out.key(QStringLiteral("settings"));
    out.value(settingsJson);
    if (trace.truncatedFrom > 0) {
        out.key(QStringLiteral("truncated"));
        out.value(truncationToJson(trace.truncatedFrom, int(trace.tokens.size())));
    }
    out.key(QStringLiteral("layers"));
    out.beginArray();
    out.beginObject();
    writeTraceMatrix(out, QStringLiteral("input"), trace.input);
    out.key(QStringLiteral("heads"));
    out.beginArray();
    for (size_t h = 0; h < trace.heads.size(); ++h) {
        out.beginObject();
        out.key(QStringLiteral("name"));
        out.string(heads[h].name);
        if (withStages) {
            writeTraceMatrix(out, QStringLiteral("w_q"), heads[h].wQ);
            writeTraceMatrix(out, QStringLiteral("w_k"), heads[h].wK);
            writeTraceMatrix(out, QStringLiteral("w_v"), heads[h].wV);
            writeHeadStages(out, trace.heads[h]);
        } else {
            writeTraceMatrix(out, QStringLiteral("weights"), trace.heads[h].weights);
        }
        out.endObject();
    }
    out.endArray();
    out.endObject();
    out.endArray();
    std::vector<Matrix> layer;
    for (const HeadTrace &head : trace.heads)
        layer.push_back(head.weights);
    if (extras.rollout)
        writeRollout(out, attentionRollout({layer}));
    if (extras.flow) {
        out.key(QStringLiteral("flow"));
        out.beginArray();
        for (const Matrix &m : attentionFlow({layer}).value_or(std::vector<Matrix>()))
            writeTraceRows(out, m, false);
        out.endArray();
    }
    if (extras.valueWeighted) {
        out.key(QStringLiteral("value_weighted"));
        out.beginArray();
        out.beginArray();
        for (size_t h = 0; h < trace.heads.size(); ++h)
            writeTraceRows(out, valueWeighted(trace.heads[h].weights, trace.valueNorms.col(Eigen::Index(h))), false);
        out.endArray();
        out.endArray();
    }
    out.endObject();
}

} // namespace studio
