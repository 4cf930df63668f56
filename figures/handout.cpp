#include "handout.h"

#include "atomicfile.h"
#include "colormap.h"
#include "stepexplainer.h"

#include <QBuffer>
#include <QPageLayout>
#include <QPainter>
#include <QPdfWriter>
#include <QTextDocument>

#include <algorithm>
#include <map>

namespace studio {

namespace {

// The handout's page: A4 portrait at 96 units an inch (the figures' logical units).
constexpr double kUnitsPerInch = 96.0;
constexpr double kMarginMm = 15.0;

QString numberedFormula(const AttentionResult &result, Stage stage)
{
    const std::vector<Stage> stages = stagesFor(result);
    const int position = int(std::find(stages.begin(), stages.end(), stage) - stages.begin()) + 1;
    return QStringLiteral("%1. %2:   %3").arg(position).arg(stageTitle(stage, result), stageFormula(stage, result));
}

} // namespace

HandoutPage handoutPage(const FigureSource &source, Stage stage, int query, int key, const QString &heading, FigureKind view)
{
    const AttentionResult &result = source.result;
    const int tokens = result.tokenCount();
    const int shownQuery = tokens == 0 ? -1 : std::clamp(query, 0, tokens - 1);
    HandoutPage page;
    page.heading = heading;
    page.formula = numberedFormula(result, stage);
    FigureRequest request;
    request.kind = view;
    request.stage = stage;
    request.heatmapStage = HeatmapStage::Weights;
    request.selectedQuery = shownQuery;
    request.numbers = true;
    request.vectorCells = true;
    if (view == FigureKind::Steps) {
        // The stage's own matrix, with the key the arithmetic follows outlined.
        const ColorMapKind colors = colorMapFor(stageValueKind(stage), ColorMapKind::Viridis);
        HeatmapFigure figure = stageFigure(result, source.details, source.context, stage, Projection::Q, colors, shownQuery, key);
        figure.showNumbers = true;
        figure.vectorCells = true;
        page.caption = figure.caption; // at the foot of the page, not twice
        figure.caption.clear();
        auto shared = std::make_shared<const HeatmapFigure>(std::move(figure));
        HeatmapStyle style;
        style.font = figureFont();
        page.figure = {preferredHeatmapSize(*shared, style),
                       [shared, style](QPainter &painter, const QRectF &area) { paintHeatmapFigure(painter, area, *shared, style); }};
    } else {
        page.figure = buildFigure(result, source.details, source.context, request, figureFont()); // with its caption
    }
    page.arithmetic = explainStage(result, source.details, stage, shownQuery, key, Projection::Q, source.context.hiddenQuery);
    return page;
}

std::vector<HandoutPage> stageHandoutPages(const FigureSource &source, int query, int key)
{
    std::vector<HandoutPage> pages;
    const std::vector<Stage> stages = stagesFor(source.result);
    for (size_t i = 0; i < stages.size(); ++i)
        pages.push_back(handoutPage(source, stages[i], query, key,
                                    QObject::tr("Stage %1 of %2 · %3").arg(i + 1).arg(stages.size()).arg(stageTitle(stages[i]))));
    return pages;
}

Result<std::vector<HandoutPage>> sceneHandoutPages(const std::vector<Scene> &scenes, const CheckpointOpener &open,
                                                   const std::function<void(int, int)> &progress)
{
    using R = Result<std::vector<HandoutPage>>;
    std::vector<HandoutPage> pages;
    std::map<QString, std::shared_ptr<const Checkpoint>> opened; // each folder opened once
    std::map<QString, std::shared_ptr<const TranslationCheckpoint>> openedTranslations;
    for (size_t i = 0; i < scenes.size(); ++i) {
        const Scene &scene = scenes[i];
        const QString which = QObject::tr("scene %1 “%2”").arg(i + 1).arg(scene.name);
        Result<FigureSource> source = Result<FigureSource>::failure({});
        if (scene.modelFolder.isEmpty()) {
            source = teachingFigureSource(scene.state, scene.head);
        } else if (isTranslationFolder(scene.modelFolder)) {
            auto found = openedTranslations.find(scene.modelFolder);
            if (found == openedTranslations.end()) {
                Result<std::shared_ptr<TranslationCheckpoint>> checkpoint = openTranslationCheckpoint(scene.modelFolder);
                if (!checkpoint)
                    return R::failure(QStringLiteral("%1: %2").arg(which, checkpoint.error));
                found = openedTranslations.emplace(scene.modelFolder, *checkpoint.value).first;
            }
            const AttentionKind kind = attentionKindFromName(scene.attentionKind).value_or(AttentionKind::Cross);
            source = translationFigureSource(found->second, scene.state.text, scene.textPair, kind, scene.layer, scene.head);
        } else {
            auto found = opened.find(scene.modelFolder);
            if (found == opened.end()) {
                Result<std::shared_ptr<const Checkpoint>> checkpoint = open(scene.modelFolder);
                if (!checkpoint)
                    return R::failure(QStringLiteral("%1: %2").arg(which, checkpoint.error));
                found = opened.emplace(scene.modelFolder, *checkpoint.value).first;
            }
            source = checkpointFigureSource(found->second, scene.state.text, scene.textPair, scene.layer, scene.head);
        }
        if (!source)
            return R::failure(QStringLiteral("%1: %2").arg(which, source.error));
        FigureSource &s = *source.value;
        if (scene.hideWeights && scene.query >= 0 && scene.query < s.result.tokenCount())
            s.context.hiddenQuery = scene.query;
        std::optional<Stage> stage = stageFromName(scene.stage);
        if (!stage || !stageApplies(*stage, s.result))
            stage = Stage::Weights;
        const FigureKind view = figureKindFromName(scene.view).value_or(FigureKind::Steps);
        const int key = scene.key < s.result.keyCount() ? scene.key : -1;
        pages.push_back(handoutPage(s, *stage, scene.query, key,
                                    QObject::tr("Scene %1 of %2 · %3").arg(i + 1).arg(scenes.size()).arg(scene.name),
                                    // A scene saves no comparison sentence: its page shows the stage instead.
                                    view == FigureKind::Heatmap || view == FigureKind::Comparison ? FigureKind::Steps : view));
        if (scene.target != TargetPattern::None) // the exercise, for the student to take home
            pages.back().formula += QObject::tr("\nChallenge: edit W_Q and W_K until %1 will %2.")
                                        .arg(s.details.name, targetPatternTitle(scene.target));
        if (progress)
            progress(int(i) + 1, int(scenes.size()));
    }
    return {std::move(pages), {}};
}

Status writeHandout(const std::vector<HandoutPage> &pages, const QString &path, const QString &title)
{
    if (pages.empty())
        return Status::failure(QStringLiteral("the handout has no pages"));
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter writer(&buffer);
        writer.setResolution(int(kUnitsPerInch));
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize::A4), QPageLayout::Portrait,
                                         QMarginsF(kMarginMm, kMarginMm, kMarginMm, kMarginMm), QPageLayout::Millimeter));
        writer.setTitle(title);
        writer.setCreator(QStringLiteral("Attention Studio"));
        QPainter painter(&writer);
        painter.setRenderHint(QPainter::Antialiasing);
        painter.setRenderHint(QPainter::LosslessImageRendering); // never JPEG: colours stay true
        const QRectF page(0, 0, writer.width(), writer.height()); // the printable area, in units
        for (size_t i = 0; i < pages.size(); ++i) {
            if (i > 0)
                writer.newPage();
            const HandoutPage &p = pages[i];
            double y = 0;
            QFont headingFont = figureFont(22);
            headingFont.setBold(true);
            painter.setFont(headingFont);
            painter.setPen(Qt::black);
            QRectF used;
            painter.drawText(QRectF(0, y, page.width(), 200), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, p.heading, &used);
            y += used.height() + 6;
            painter.setFont(figureFont(16));
            painter.drawText(QRectF(0, y, page.width(), 200), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap, p.formula, &used);
            y += used.height() + 10;

            // The figure: up to half the page, its proportions kept.
            const QSizeF size = p.figure.size;
            if (size.width() > 0 && size.height() > 0 && p.figure.paint) {
                const double scale = std::min({page.width() / size.width(), page.height() * 0.5 / size.height(), 1.6});
                painter.save();
                painter.translate((page.width() - size.width() * scale) / 2, y);
                painter.scale(scale, scale);
                p.figure.paint(painter, QRectF(QPointF(0, 0), size));
                painter.restore();
                y += size.height() * scale + 12;
            }

            // The caption at the foot of the page; the arithmetic between.
            QFont captionFont = figureFont(11);
            painter.setFont(captionFont);
            const QString caption = p.caption.join(QLatin1Char('\n'));
            const QRectF captionBox = painter.boundingRect(QRectF(0, 0, page.width(), page.height()),
                                                           Qt::AlignLeft | Qt::TextWordWrap, caption);
            const double captionTop = page.height() - captionBox.height();
            painter.setPen(QColor(90, 90, 90));
            painter.drawText(QRectF(0, captionTop, page.width(), captionBox.height()), Qt::AlignLeft | Qt::TextWordWrap, caption);

            QTextDocument arithmetic;
            arithmetic.setDefaultFont(figureFont(14));
            arithmetic.setHtml(p.arithmetic);
            const double room = captionTop - 10 - y;
            double shrink = 1.0;
            arithmetic.setTextWidth(page.width());
            // Shrink to fit, to no less than 60 %: below that the numbers are too small to read, and
            // the rest of a very long sum is cut at the caption.
            while (arithmetic.size().height() * shrink > room && shrink > 0.6) {
                shrink -= 0.05;
                arithmetic.setTextWidth(page.width() / shrink);
            }
            if (room > 0) {
                painter.save();
                painter.translate(0, y);
                painter.scale(shrink, shrink);
                arithmetic.drawContents(&painter, QRectF(0, 0, page.width() / shrink, room / shrink));
                painter.restore();
            }
        }
        if (!painter.end())
            return Status::failure(QStringLiteral("could not write the PDF"));
    }
    buffer.close();
    return writeFileAtomically(path, bytes);
}

} // namespace studio
