#include "attentiondocument.h"

#include "undocommands.h"

#include <algorithm>

namespace studio {

AttentionDocument::AttentionDocument(QObject *parent)
    : QObject(parent), m_workspace(defaultWorkspace(QStringLiteral("The cat sat on the mat.")))
{
    recompute();
}

void AttentionDocument::recompute()
{
    m_trace = traceTeachingModel(m_workspace.text, m_workspace.config, m_workspace.heads, m_workspace.settings);
    m_selectedHead = std::clamp(m_selectedHead, 0, std::max(0, int(m_workspace.heads.size()) - 1));
    if (m_selectedQuery >= tokenCount())
        m_selectedQuery = tokenCount() - 1;
    Q_EMIT traceChanged();
}

void AttentionDocument::applyText(const QString &text)
{
    if (text == m_workspace.text)
        return;
    m_workspace.text = text;
    recompute();
}

void AttentionDocument::applySettings(const AttentionSettings &settings)
{
    if (settings == m_workspace.settings)
        return;
    m_workspace.settings = settings;
    recompute();
}

void AttentionDocument::applyWorkspace(const Workspace &workspace)
{
    m_workspace = workspace;
    recompute();
}

void AttentionDocument::editText(const QString &text)
{
    if (text != m_workspace.text)
        m_undoStack.push(new SetTextCommand(this, m_workspace.text, text));
}

void AttentionDocument::editSettings(const AttentionSettings &settings, const QString &label)
{
    if (!(settings == m_workspace.settings))
        m_undoStack.push(new SetSettingsCommand(this, m_workspace.settings, settings, label));
}

void AttentionDocument::selectHead(int head)
{
    head = std::clamp(head, 0, std::max(0, int(m_workspace.heads.size()) - 1));
    if (head == m_selectedHead)
        return;
    m_selectedHead = head;
    Q_EMIT selectionChanged();
}

void AttentionDocument::selectQuery(int query)
{
    query = std::clamp(query, -1, tokenCount() - 1);
    if (query == m_selectedQuery)
        return;
    m_selectedQuery = query;
    Q_EMIT selectionChanged();
}

} // namespace studio
