#include "helptexts.h"

#include <QAction>
#include <QMenu>
#include <QMenuBar>
#include <QObject>

namespace studio {

namespace {

QString plainText(QString menuText)
{
    return menuText.remove(QLatin1Char('&')).remove(QStringLiteral("…")).trimmed();
}

void collect(const QMenu *menu, const QString &path, QList<QPair<QString, QString>> &rows)
{
    for (const QAction *action : menu->actions()) {
        if (action->menu()) {
            collect(action->menu(), path + QStringLiteral(" ▸ ") + plainText(action->text()), rows);
            continue;
        }
        if (!action->shortcut().isEmpty())
            rows.append({action->shortcut().toString(QKeySequence::NativeText), path + QStringLiteral(" ▸ ") + plainText(action->text())});
    }
}

} // namespace

QString quickStartHtml()
{
    return QObject::tr(
        "<h3>Quick start</h3>"
        "<ol>"
        "<li><b>Type a sentence</b> in the field at the top, or pick one under <i>Samples</i>. Every view follows each keystroke.</li>"
        "<li><b>Read the heatmap</b>: row = the query token, column = the key token it looks at; each row sums to 1. "
        "Click a cell to select that query (and key) in every view.</li>"
        "<li><b>Follow one head step by step</b> in the Step-through: embeddings, Q/K/V, QKᵀ, ÷√d_k, the mask, the softmax, "
        "weights·V. The right-hand pane writes out the arithmetic for the selected query. Page Down / Page Up (or a "
        "presentation clicker) move between stages.</li>"
        "<li><b>Compare heads</b> in the head view (arcs) and every layer and head at once in the model view.</li>"
        "<li><b>Experiment</b>: change the temperature, the mask (Ctrl+click a column to hide a key), the dimensions, or "
        "edit W_Q, W_K and W_V in the Weights tab. Ctrl+Z undoes any change.</li>"
        "<li><b>Real models</b>: choose one in the Model box, or <i>Download from Hugging Face…</i> to fetch GPT-2, BERT or a "
        "small Llama-style model once; it then works offline.</li>"
        "<li><b>Export</b> the view you clicked last with Ctrl+E (PNG, SVG or PDF), or every head at once from the File menu. "
        "Save the workspace (Ctrl+S) to keep the sentence, the settings and the weights.</li>"
        "<li><b>Prepare a lesson</b> in the Scenes panel: <i>Add scene</i> keeps what is on screen; a scene can hide the "
        "selected query's weights until revealed, or set a head to build (the challenge). <i>Present</i> plays the scenes "
        "full screen (F5 presents what is on screen); File ▸ Export handout… writes them as a PDF.</li>"
        "</ol>");
}

QString shortcutsHtml(const QMenuBar *menuBar)
{
    QList<QPair<QString, QString>> rows;
    for (const QAction *action : menuBar->actions())
        if (action->menu())
            collect(action->menu(), plainText(action->text()), rows);
    rows.append({QObject::tr("Page Down / Page Up"), QObject::tr("Next / previous stage of the step-through (a presentation clicker's keys), whatever has the focus")});
    rows.append({QObject::tr("Click a cell"), QObject::tr("Heatmap: select that query and key everywhere")});
    rows.append({QObject::tr("Ctrl+click a column"), QObject::tr("Heatmap: hide that key from every query (with any mask)")});
    rows.append({QObject::tr("Presenter: → / Space, ←"), QObject::tr("Next / previous step of the arithmetic, then stage, then query")});
    rows.append({QObject::tr("Presenter: ↓ / ↑"), QObject::tr("Next / previous stage, whole")});
    rows.append({QObject::tr("Presenter: Page Down / Page Up while scenes play"), QObject::tr("Next / previous scene (the first press reveals hidden weights)")});
    rows.append({QObject::tr("↑ ↓ / ← →"), QObject::tr("Heatmap: move the selected query / key")});
    rows.append({QObject::tr("Esc"), QObject::tr("Heatmap: clear the selected query")});
    QString html = QObject::tr("<h3>Keyboard shortcuts</h3><table cellspacing=\"0\" cellpadding=\"4\">");
    for (const auto &[keys, what] : rows)
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(keys.toHtmlEscaped(), what.toHtmlEscaped());
    return html + QStringLiteral("</table>");
}

} // namespace studio
