#pragma once

#include "attention.h"
#include "challenge.h"
#include "result.h"
#include "teachingmodel.h"

#include <QJsonObject>
#include <QString>

#include <optional>
#include <vector>

namespace studio {

struct Scene;

// Everything a user can set for the teaching model: the sentence, every setting and every weight;
// and the scenes a teacher saved to present.
struct Workspace {
    QString text;
    TeachingConfig config;
    AttentionSettings settings;
    std::vector<HeadWeights> heads; // config.heads entries, each (d_model, d_head)
    std::vector<Scene> scenes;
};

// One saved moment of a lesson: what was shown and how, to come back to in front of a class.
struct Scene {
    QString name;
    Workspace state;       // the sentence, settings and weights (its own scenes empty)
    QString modelFolder;   // a checkpoint's folder; empty for the teaching model
    QString textPair;      // BERT's second sentence, or a translation's target
    QString attentionKind; // a translation model's: "encoder", "decoder" or "cross"; empty for others
    QString view;          // the view in front: "heatmap", "arcs", "grid", "steps"
    QString stage;         // the step-through's stage ("weights"); the window checks the names
    int layer = 0;
    int head = 0;
    int query = -1;        // −1: none selected
    int key = -1;
    bool hideWeights = false; // the selected query's weights stay hidden until revealed
    TargetPattern target = TargetPattern::None; // the make-a-head challenge, if any
};

// Whether two workspaces compute the same thing: the same text, configuration, settings and
// weights (bit for bit; names and descriptions too). Their scenes are not compared.
bool sameState(const Workspace &a, const Workspace &b);
bool operator==(const Scene &a, const Scene &b);

// 2: hidden keys apply with any mask (in 1 only with mask "keys", and were ignored otherwise).
// 3: scenes (files of 1 and 2 have none).
inline constexpr int kWorkspaceFormatVersion = 3;

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
