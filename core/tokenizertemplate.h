#pragma once

#include "result.h"

#include <QJsonObject>
#include <QStringList>

#include <vector>

namespace studio {

// The special tokens a tokenizer.json's post-processor puts around one text: TemplateProcessing's
// "single" template (alone, or inside a Sequence), split at "$A" into what comes before and after.
// ByteLevel and no post-processor add nothing; any other kind is refused by name.
struct SpecialTokenTemplate {
    std::vector<int> prefixIds, suffixIds;
    QStringList prefixTokens, suffixTokens;
};
Result<SpecialTokenTemplate> readSpecialTokenTemplate(const QJsonObject &tokenizerJson);

} // namespace studio
