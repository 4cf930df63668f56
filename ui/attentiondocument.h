#pragma once

#include "teachingmodel.h"
#include "workspace.h"

#include <QObject>
#include <QUndoStack>

namespace studio {

// The single source of truth of a window: the workspace (sentence, settings, weights), the trace
// computed from it, the selection, and the undo stack. Widgets read from it and push undo commands;
// they never compute attention themselves.
class AttentionDocument : public QObject {
    Q_OBJECT
public:
    explicit AttentionDocument(QObject *parent = nullptr);

    const Workspace &workspace() const { return m_workspace; }
    const TeachingTrace &trace() const { return m_trace; }
    QUndoStack *undoStack() { return &m_undoStack; }

    int selectedHead() const { return m_selectedHead; }
    int selectedQuery() const { return m_selectedQuery; }
    int tokenCount() const { return int(m_trace.tokens.size()); }

    // Used by undo commands: set, recompute, emit. Each compares first and does nothing if equal.
    void applyText(const QString &text);
    void applySettings(const AttentionSettings &settings);
    void applyWorkspace(const Workspace &workspace);

    // Undoable edits for widgets.
    void editText(const QString &text);
    void editSettings(const AttentionSettings &settings, const QString &label);

    // Selection is view state, not undoable. Out-of-range values are clamped.
    void selectHead(int head);
    void selectQuery(int query);

Q_SIGNALS:
    void traceChanged();
    void selectionChanged();

private:
    void recompute();

    Workspace m_workspace;
    TeachingTrace m_trace;
    QUndoStack m_undoStack;
    int m_selectedHead = 0;
    int m_selectedQuery = -1;
};

} // namespace studio
