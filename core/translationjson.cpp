#include "translationjson.h"

#include "tracejson.h"

#include <QJsonArray>
#include <QJsonObject>

namespace studio {

namespace {

QJsonObject tokensToJson(const std::vector<int> &ids, const QStringList &tokens, const ModelTokenizer &tokenizer)
{
    QJsonArray idArray, tokenArray, display;
    for (size_t i = 0; i < ids.size(); ++i) {
        idArray.append(ids[i]);
        const QString token = tokens.value(qsizetype(i));
        tokenArray.append(token);
        display.append(tokenizer.displayToken(token));
    }
    return {{QStringLiteral("ids"), idArray}, {QStringLiteral("tokens"), tokenArray}, {QStringLiteral("display_tokens"), display}};
}

} // namespace

void writeTranslationTrace(JsonStream &out, const TranslationCheckpoint &checkpoint, const PreparedTranslation &prepared,
                           const TranslationTrace &trace, const TranslationTraceOptions &options)
{
    const TranslationConfig &config = checkpoint.config;
    const TranslationTokenizer &tokenizer = *checkpoint.tokenizer;
    out.beginObject();
    out.key(QStringLiteral("model"));
    out.value(QJsonObject{
        {QStringLiteral("kind"), config.modelType},
        {QStringLiteral("name"), checkpoint.name},
        {QStringLiteral("encoder_layers"), config.encoderLayers},
        {QStringLiteral("decoder_layers"), config.decoderLayers},
        {QStringLiteral("encoder_heads"), config.encoderHeads},
        {QStringLiteral("decoder_heads"), config.decoderHeads},
        {QStringLiteral("d_model"), config.hidden},
        {QStringLiteral("decoder_start_token_id"), config.decoderStartId},
    });
    out.key(QStringLiteral("source"));
    out.value(tokensToJson(prepared.source.ids, prepared.source.tokens, tokenizer));
    out.key(QStringLiteral("target"));
    out.value(tokensToJson(prepared.input.decoderIds, prepared.decoderTokens, tokenizer));
    if (options.generated) {
        QStringList tokens;
        for (int id : *options.generated)
            tokens.append(tokenizer.targetTokenForId(id));
        QJsonObject generated = tokensToJson(*options.generated, tokens, tokenizer);
        if (!options.stopReason.isEmpty())
            generated.insert(QStringLiteral("stopped"), options.stopReason);
        out.key(QStringLiteral("generated"));
        out.value(generated);
    }
    out.key(QStringLiteral("settings"));
    out.value(QJsonObject{{QStringLiteral("temperature"), options.temperature}, {QStringLiteral("scale"), true}});
    if (prepared.truncatedFrom > 0) {
        out.key(QStringLiteral("truncated"));
        out.value(QJsonObject{{QStringLiteral("from"), prepared.truncatedFrom}, {QStringLiteral("to"), config.maxPositions}});
    }
    writeNonFiniteWarnings(out, checkpoint.model->nonFiniteTensors());
    for (AttentionKind kind : kAttentionKinds) {
        out.key(attentionKindName(kind));
        out.beginObject();
        out.key(QStringLiteral("layers"));
        out.beginArray();
        const AttentionMaps &maps = *trace.maps(kind);
        for (size_t l = 0; l < maps.size(); ++l) {
            out.beginObject();
            out.key(QStringLiteral("heads"));
            out.beginArray();
            for (size_t h = 0; h < maps[l].size(); ++h) {
                out.beginObject();
                if (options.stages)
                    writeHeadStages(out, checkpoint.model->headStages(trace, kind, int(l), int(h), prepared.input));
                else
                    writeTraceMatrix(out, QStringLiteral("weights"), maps[l][h]);
                out.endObject();
            }
            out.endArray();
            out.endObject();
        }
        out.endArray();
        out.endObject();
    }
    out.endObject();
}

} // namespace studio
