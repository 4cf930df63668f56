#include "undocommands.h"

#include <bit>

namespace studio {

SetTextCommand::SetTextCommand(AttentionDocument *document, QString before, QString after, Field field)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after)), m_field(field)
{
    switch (field) {
    case Field::Text: setText(QObject::tr("Edit sentence")); break;
    case Field::Pair: setText(QObject::tr("Edit second sentence")); break;
    case Field::Comparison: setText(QObject::tr("Edit sentence compared with")); break;
    }
}

int SetTextCommand::id() const
{
    switch (m_field) {
    case Field::Text: return int(CommandId::Text);
    case Field::Pair: return int(CommandId::TextPair);
    case Field::Comparison: return int(CommandId::ComparisonText);
    }
    return -1;
}

void SetTextCommand::apply(const QString &text)
{
    switch (m_field) {
    case Field::Text: m_document->applyText(text); break;
    case Field::Pair: m_document->applyTextPair(text); break;
    case Field::Comparison: m_document->applyComparisonText(text); break;
    }
}

void SetTextCommand::undo()
{
    apply(m_before);
}

void SetTextCommand::redo()
{
    apply(m_after);
}

bool SetTextCommand::mergeWith(const QUndoCommand *other)
{
    m_after = static_cast<const SetTextCommand *>(other)->m_after;
    setObsolete(m_after == m_before);
    return true;
}

SetTargetCommand::SetTargetCommand(AttentionDocument *document, AttentionDocument::Target before, AttentionDocument::Target after,
                                   const QString &label)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after))
{
    setText(label);
}

bool SetTargetCommand::mergeWith(const QUndoCommand *other)
{
    // Keystrokes merge; a translated token never does.
    const auto *next = static_cast<const SetTargetCommand *>(other);
    if (m_after.ids || next->m_after.ids || m_before.ids)
        return false;
    m_after = next->m_after;
    setObsolete(m_after == m_before);
    return true;
}

AppendTokenCommand::AppendTokenCommand(AttentionDocument *document, QString before, QString after, const QString &token)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after))
{
    setText(QObject::tr("Generate “%1”").arg(token));
}

void AppendTokenCommand::undo()
{
    m_document->applyText(m_before);
}

void AppendTokenCommand::redo()
{
    m_document->applyText(m_after);
}

SetSettingsCommand::SetSettingsCommand(AttentionDocument *document, AttentionSettings before,
                                       AttentionSettings after, Edit edit, int key)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after)), m_edit(edit), m_key(key)
{
    setText(label(edit, key));
    setObsolete(m_before == m_after);
}

QString SetSettingsCommand::label(Edit edit, int key)
{
    switch (edit) {
    case Edit::Scale: return QObject::tr("Change scaling");
    case Edit::Mask: return QObject::tr("Change mask");
    case Edit::HiddenKey: return QObject::tr("Hide or show key %1").arg(key);
    case Edit::ShowAllKeys: return QObject::tr("Show all keys");
    case Edit::Temperature: return QObject::tr("Change temperature");
    }
    Q_UNREACHABLE();
}

bool SetSettingsCommand::mergeWith(const QUndoCommand *other)
{
    const auto *next = static_cast<const SetSettingsCommand *>(other);
    if (next->m_edit != m_edit || next->m_key != m_key)
        return false;
    m_after = next->m_after;
    setObsolete(m_before == m_after);
    return true;
}

SetWorkspaceCommand::SetWorkspaceCommand(AttentionDocument *document, Workspace before, Workspace after,
                                         const QString &label)
    : m_document(document), m_before(std::move(before)), m_after(std::move(after))
{
    setText(label);
}

SetWeightCommand::SetWeightCommand(AttentionDocument *document, Cell cell, float before, float after, int gesture)
    : m_document(document), m_cell(cell), m_before(before), m_after(after), m_gesture(gesture)
{
    setText(QObject::tr("Edit %1[%2][%3] of head %4").arg(projectionMatrixName(cell.matrix)).arg(cell.row).arg(cell.col).arg(cell.head));
}

bool SetWeightCommand::mergeWith(const QUndoCommand *other)
{
    const auto *edit = static_cast<const SetWeightCommand *>(other);
    if (m_gesture == 0 || edit->m_gesture != m_gesture || !(edit->m_cell == m_cell))
        return false;
    m_after = edit->m_after;
    setObsolete(std::bit_cast<quint32>(m_after) == std::bit_cast<quint32>(m_before)); // NaN-safe equality
    return true;
}

void SetWeightCommand::apply(float value)
{
    Workspace workspace = m_document->workspace();
    if (m_cell.head < 0 || m_cell.head >= int(workspace.heads.size()))
        return;
    HeadWeights &head = workspace.heads[size_t(m_cell.head)];
    Matrix &matrix = head.weight(m_cell.matrix);
    if (m_cell.row >= matrix.rows() || m_cell.col >= matrix.cols())
        return;
    matrix(m_cell.row, m_cell.col) = value;
    m_document->applyWorkspace(workspace);
}

} // namespace studio
