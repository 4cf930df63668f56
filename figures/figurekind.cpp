#include "figurekind.h"

#include <algorithm>

#include <QObject>

#include <memory>

namespace studio {

QString figureKindTitle(FigureKind kind)
{
    switch (kind) {
    case FigureKind::Heatmap: return QObject::tr("heatmap");
    case FigureKind::Arcs: return QObject::tr("head view");
    case FigureKind::Grid: return QObject::tr("model view");
    case FigureKind::Steps: return QObject::tr("step-through");
    case FigureKind::Comparison: return QObject::tr("comparison");
    }
    Q_UNREACHABLE();
}

QString figureKindName(FigureKind kind)
{
    switch (kind) {
    case FigureKind::Heatmap: return QStringLiteral("heatmap");
    case FigureKind::Arcs: return QStringLiteral("arcs");
    case FigureKind::Grid: return QStringLiteral("grid");
    case FigureKind::Steps: return QStringLiteral("steps");
    case FigureKind::Comparison: return QStringLiteral("comparison");
    }
    Q_UNREACHABLE();
}

std::optional<FigureKind> figureKindFromName(const QString &name)
{
    for (FigureKind kind : kFigureKinds)
        if (figureKindName(kind) == name)
            return kind;
    return std::nullopt;
}

QStringList figureKindNames()
{
    QStringList names;
    for (FigureKind kind : kFigureKinds)
        names.append(figureKindName(kind));
    return names;
}

namespace {

BuiltFigure heatmapFigure(HeatmapFigure figure, const QFont &font)
{
    HeatmapStyle style;
    style.font = font;
    const QSizeF size = preferredHeatmapSize(figure, style);
    auto shared = std::make_shared<const HeatmapFigure>(std::move(figure));
    return {size, [shared, style](QPainter &painter, const QRectF &area) { paintHeatmapFigure(painter, area, *shared, style); }};
}

} // namespace

BuiltFigure buildFigure(const AttentionResult &result, const HeadDetails &details, const FigureContext &context,
                        const FigureRequest &request, const QFont &font)
{
    switch (request.kind) {
    case FigureKind::Heatmap: {
        HeatmapFigure figure = headHeatmap(result, details, context, request.heatmapStage,
                                           colorMapFor(heatmapValueKind(request.heatmapStage), request.preferredColors),
                                           request.selectedQuery, request.extras);
        figure.showNumbers = request.numbers;
        figure.vectorCells = request.vectorCells;
        return heatmapFigure(std::move(figure), font);
    }
    case FigureKind::Steps: {
        HeatmapFigure figure = stageFigure(result, details, context, request.stage, request.projection,
                                           colorMapFor(stageValueKind(request.stage), request.preferredColors), request.selectedQuery);
        // Numbered as the step-through numbers it: among this model's stages (Rotary only for rotary models).
        const std::vector<Stage> stages = stagesFor(result);
        const int position = int(std::find(stages.begin(), stages.end(), request.stage) - stages.begin()) + 1;
        figure.caption.append(QStringLiteral("%1. %2:   %3").arg(position).arg(stageTitle(request.stage, result), stageFormula(request.stage, result)));
        figure.showNumbers = true;
        figure.vectorCells = request.vectorCells;
        return heatmapFigure(std::move(figure), font);
    }
    case FigureKind::Arcs: {
        QList<int> heads = request.heads;
        if (heads.isEmpty())
            for (int h = 0; h < result.heads; ++h)
                heads.append(h);
        auto figure = std::make_shared<ArcFigure>(arcFigure(result, context, context.layer, heads, request.pruning));
        figure->focusToken = request.selectedQuery;
        return {preferredArcSize(*figure, font),
                [figure, font](QPainter &painter, const QRectF &area) { paintArcFigure(painter, area, *figure, font); }};
    }
    case FigureKind::Grid: {
        auto figure = std::make_shared<const GridFigure>(gridFigure(result, context, request.preferredColors, context.layer, context.head,
                                                                    request.comparison.get()));
        auto thumbnails = std::make_shared<const std::vector<std::vector<QImage>>>(gridThumbnails(*figure));
        return {preferredGridSize(*figure, font), [figure, thumbnails, font](QPainter &painter, const QRectF &area) {
                    paintGridFigure(painter, area, *figure, font, *thumbnails);
                }};
    }
    case FigureKind::Comparison: {
        HeatmapFigure figure = request.comparison ? comparisonHeatmap(*request.comparison, context, request.selectedQuery) : HeatmapFigure();
        figure.showNumbers = request.numbers;
        figure.vectorCells = request.vectorCells;
        return heatmapFigure(std::move(figure), font);
    }
    }
    Q_UNREACHABLE();
}

} // namespace studio
