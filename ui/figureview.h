#pragma once

#include "figurekind.h"

#include <QSizeF>
#include <QString>

class QPainter;
class QRectF;

namespace studio {

// A view that can be exported exactly as shown (selection included).
class FigureView {
public:
    virtual ~FigureView() = default;
    virtual FigureKind figureKind() const = 0;
    QString figureName() const { return figureKindName(figureKind()); } // used in file names
    // Brings the figure up to date: a view in a hidden tab rebuilds only when asked (or shown).
    virtual void updateFigure() = 0;
    // The figure as it is now; call updateFigure() first.
    virtual QSizeF figureSize() const = 0; // logical size for export
    virtual void paintFigure(QPainter &painter, const QRectF &area) const = 0;
};

} // namespace studio
