#include "tokenizertemplate.h"

#include <QJsonArray>

namespace studio {

Result<SpecialTokenTemplate> readSpecialTokenTemplate(const QJsonObject &tokenizerJson)
{
    using R = Result<SpecialTokenTemplate>;
    SpecialTokenTemplate result;
    QJsonObject post = tokenizerJson.value(QStringLiteral("post_processor")).toObject();
    QJsonArray steps = post.value(QStringLiteral("type")).toString() == QStringLiteral("Sequence")
        ? post.value(QStringLiteral("processors")).toArray()
        : QJsonArray{post};
    for (const QJsonValue &value : steps) {
        const QJsonObject step = value.toObject();
        const QString type = step.value(QStringLiteral("type")).toString();
        if (step.isEmpty() || type == QStringLiteral("ByteLevel"))
            continue;
        if (type != QStringLiteral("TemplateProcessing"))
            return R::failure(QStringLiteral("tokenizer.json: the post-processor \"%1\" is not supported (TemplateProcessing and ByteLevel are)").arg(type));
        const QJsonObject specials = step.value(QStringLiteral("special_tokens")).toObject();
        bool afterText = false;
        for (const QJsonValue &piece : step.value(QStringLiteral("single")).toArray()) {
            const QJsonObject p = piece.toObject();
            if (p.contains(QStringLiteral("Sequence"))) {
                afterText = true;
                continue;
            }
            const QString name = p.value(QStringLiteral("SpecialToken")).toObject().value(QStringLiteral("id")).toString();
            const QJsonObject special = specials.value(name).toObject();
            const QJsonArray ids = special.value(QStringLiteral("ids")).toArray();
            const QJsonArray tokens = special.value(QStringLiteral("tokens")).toArray();
            if (ids.isEmpty() || ids.size() != tokens.size())
                return R::failure(QStringLiteral("tokenizer.json: the template's special token \"%1\" has no ids").arg(name));
            for (qsizetype i = 0; i < ids.size(); ++i) {
                (afterText ? result.suffixIds : result.prefixIds).push_back(ids.at(i).toInt());
                (afterText ? result.suffixTokens : result.prefixTokens).append(tokens.at(i).toString());
            }
        }
    }
    return {std::move(result), {}};
}

} // namespace studio
