#pragma once

#include <QSizeF>
#include <QString>

class QPainter;
class QRectF;

namespace studio {

// A view that can be exported exactly as shown (selection included).
class FigureView {
public:
    virtual ~FigureView() = default;
    virtual QString figureName() const = 0;   // "heatmap", used in file names
    virtual QSizeF figureSize() const = 0;    // logical size for export
    virtual void paintFigure(QPainter &painter, const QRectF &area) const = 0;
};

} // namespace studio
