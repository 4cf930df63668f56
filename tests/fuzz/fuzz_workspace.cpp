// libFuzzer target: workspace files, and the teaching model on any workspace the loader accepts.
#include "teachingmodel.h"
#include "workspace.h"

#include <QJsonDocument>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const QJsonDocument document = QJsonDocument::fromJson(QByteArray::fromRawData(reinterpret_cast<const char *>(data), qsizetype(size)));
    if (!document.isObject())
        return 0;
    const studio::Result<studio::Workspace> workspace = studio::workspaceFromJson(document.object());
    if (workspace) {
        const studio::Workspace &w = *workspace.value;
        studio::traceTeachingModel(w.text.left(64), w.config, w.heads, w.settings);
    }
    return 0;
}
