#pragma once

#include "attention.h"
#include "result.h"
#include "teachingmodel.h"

#include <QJsonObject>
#include <QString>

#include <optional>
#include <vector>

namespace studio {

// Everything a user can set for the teaching model: the sentence, every setting and every weight.
struct Workspace {
    QString text;
    TeachingConfig config;
    AttentionSettings settings;
    std::vector<HeadWeights> heads; // config.heads entries, each (d_model, d_head)
};

// 2: hidden keys apply with any mask (in 1 only with mask "keys", and were ignored otherwise).
inline constexpr int kWorkspaceFormatVersion = 2;

// The default workspace: the default heads for the default configuration and the given sentence.
Workspace defaultWorkspace(const QString &text = {});

QJsonObject workspaceToJson(const Workspace &workspace);
// Validates everything: fields present with the right types, shapes matching the configuration,
// finite weights, τ > 0, a known format version.
Result<Workspace> workspaceFromJson(const QJsonObject &json);

// The first weight that is NaN or infinite, described ("head 0 w_q[1][2] is NaN"), or empty.
QString nonFiniteWeight(const Workspace &workspace);

// Refuses weights that are not finite (JSON cannot hold them). Writes atomically (QSaveFile): either the whole new file is there, or the old file is untouched.
Status saveWorkspace(const Workspace &workspace, const QString &path);
Result<Workspace> loadWorkspace(const QString &path);

// Matrix <-> JSON array of rows. Floats go through double, which JSON prints shortest-round-trip,
// so saving and loading gives back the same bits.
QJsonArray matrixToJson(const Matrix &matrix);
QJsonArray vectorToJson(const Vector &vector);

} // namespace studio
