#include "arcview.h"

#include "attentiondocument.h"
#include "deferredrebuild.h"
#include "viewoptions.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFontMetricsF>
#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QSpinBox>
#include <QVBoxLayout>

namespace studio {

ArcCanvas::ArcCanvas(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    setMouseTracking(true);
    setMinimumSize(220, 160);
    setToolTip(tr("Hover a token to see only its lines; click a query token to select it."));
}

void ArcCanvas::setFigure(const ArcFigure &figure)
{
    if (figure.labels.size() != m_figure.labels.size())
        m_focus = -1;
    m_figure = figure;
    m_cacheValid = false; // drawn at the next paint, not now
    m_pruned.lines = pruneArcs(*m_figure.weights, m_figure.heads, m_figure.pruning, &m_pruned.hidden);
    update();
}

ArcLayout ArcCanvas::layout() const
{
    return arcFigureLayout(shownFigure(), QRectF(rect()), m_options->font());
}

ArcFigure ArcCanvas::shownFigure() const
{
    // On screen: the sentence, model and layer are in the window already, and the count of lines
    // under the view; the legend stays. Exports get the whole caption.
    ArcFigure shown = m_figure;
    shown.showCaption = false;
    return shown;
}

void ArcCanvas::renderCache()
{
    const qreal ratio = devicePixelRatioF();
    m_cache = QImage(size() * ratio, QImage::Format_RGB32);
    m_cache.setDevicePixelRatio(ratio);
    if (m_cache.isNull())
        return;
    QPainter painter(&m_cache);
    ArcFigure figure = shownFigure();
    figure.focusToken = -1;
    paintArcFigure(painter, QRectF(rect()), figure, m_options->font(), &m_pruned);
    m_cacheValid = true;
}

void ArcCanvas::resizeEvent(QResizeEvent *)
{
    m_cacheValid = false;
}

void ArcCanvas::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    if (m_focus < 0) {
        if (!m_cacheValid)
            renderCache();
        painter.drawImage(0, 0, m_cache);
        return;
    }
    // Hover: the focused token's lines alone, drawn fresh (at most T × heads lines).
    ArcFigure figure = shownFigure();
    figure.focusToken = m_focus;
    figure.focusIsQuery = m_focusIsQuery;
    paintArcFigure(painter, QRectF(rect()), figure, m_options->font(), &m_pruned);
}

void ArcCanvas::mouseMoveEvent(QMouseEvent *event)
{
    bool left = true;
    const int token = layout().tokenAt(event->position(), &left);
    if (token != m_focus || left != m_focusIsQuery) {
        m_focus = token;
        m_focusIsQuery = left;
        update();
    }
}

void ArcCanvas::mousePressEvent(QMouseEvent *event)
{
    bool left = true;
    const int token = layout().tokenAt(event->position(), &left);
    if (token >= 0 && left)
        m_document->selectQuery(token);
    else if (token >= 0)
        m_document->selectKey(token);
}

void ArcCanvas::leaveEvent(QEvent *)
{
    if (m_focus >= 0) {
        m_focus = -1;
        update();
    }
}

ArcView::ArcView(AttentionDocument *document, ViewOptions *options, QWidget *parent)
    : QWidget(parent), m_document(document), m_options(options)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto *controls = new QHBoxLayout;
    m_headBoxes = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Heads:"), this));
    controls->addLayout(m_headBoxes);
    controls->addStretch();
    controls->addWidget(new QLabel(tr("Hide below"), this));
    m_threshold = new QDoubleSpinBox(this);
    m_threshold->setRange(0.0, 1.0);
    m_threshold->setSingleStep(0.01);
    m_threshold->setDecimals(3);
    m_threshold->setValue(0.02);
    m_threshold->setToolTip(tr("Lines with a weight below this are not drawn."));
    controls->addWidget(m_threshold);
    controls->addWidget(new QLabel(tr("Top"), this));
    m_topK = new QSpinBox(this);
    m_topK->setRange(0, 1000);
    m_topK->setSpecialValueText(tr("all"));
    m_topK->setValue(0);
    m_topK->setToolTip(tr("Keep only the strongest lines of each query (all = no limit)."));
    controls->addWidget(m_topK);
    layout->addLayout(controls);
    m_canvas = new ArcCanvas(document, options, this);
    layout->addWidget(m_canvas, 1);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("arcStatus"));
    layout->addWidget(m_status);

    m_deferred = new DeferredRebuild(this, [this] { rebuild(); });
    connect(document, &AttentionDocument::resultChanged, this, [this] { rebuildHeads(); m_deferred->request(); });
    connect(document, &AttentionDocument::modelChanged, this, &ArcView::rebuildHeads);
    connect(document, &AttentionDocument::headSelected, m_deferred, &DeferredRebuild::request);
    connect(document, &AttentionDocument::sceneChanged, m_deferred, &DeferredRebuild::request);
    connect(options, &ViewOptions::changed, m_deferred, &DeferredRebuild::request);
    connect(m_threshold, &QDoubleSpinBox::valueChanged, m_deferred, &DeferredRebuild::request);
    connect(m_topK, &QSpinBox::valueChanged, m_deferred, &DeferredRebuild::request);
    rebuildHeads();
    rebuild();
}

QList<int> ArcView::visibleHeads() const
{
    QList<int> heads;
    for (int h = 0; h < m_heads.size(); ++h)
        if (m_heads.at(h)->isChecked())
            heads.append(h);
    return heads;
}

void ArcView::rebuildHeads()
{
    const int count = m_document->result().heads;
    if (count == m_heads.size())
        return;
    qDeleteAll(m_heads);
    m_heads.clear();
    for (int h = 0; h < count; ++h) {
        auto *box = new QCheckBox(QString::number(h), this);
        box->setChecked(count <= 4 || h == m_document->selectedHead());
        box->setToolTip(tr("Show head %1").arg(h));
        QPalette palette = box->palette();
        palette.setColor(QPalette::WindowText, headColor(h));
        box->setPalette(palette);
        connect(box, &QCheckBox::toggled, m_deferred, &DeferredRebuild::request);
        m_headBoxes->addWidget(box);
        m_heads.append(box);
    }
}

void ArcView::rebuild()
{
    const ArcPruning pruning{float(m_threshold->value()), m_topK->value()};
    ArcFigure figure = arcFigure(m_document->result(), documentContext(*m_document), m_document->selectedLayer(),
                                 visibleHeads(), pruning);
    m_canvas->setFigure(figure);
    const int shown = m_canvas->shownLines();
    const int hidden = m_canvas->hiddenLines();
    m_status->setText(hidden > 0 ? tr("%1 of %2 lines shown; %3 weak ones hidden to keep the view readable.")
                                       .arg(shown).arg(shown + hidden).arg(hidden)
                                 : tr("All %1 lines shown.").arg(shown));
}

void ArcView::updateFigure()
{
    m_deferred->flush();
}

QSizeF ArcView::figureSize() const
{
    return preferredArcSize(m_canvas->figure(), m_options->font());
}

void ArcView::paintFigure(QPainter &painter, const QRectF &area) const
{
    ArcFigure figure = m_canvas->figure();
    figure.focusToken = m_canvas->focusToken();
    paintArcFigure(painter, area, figure, m_options->font(), m_canvas->pruned());
}

} // namespace studio
