#pragma once

#include <QImage>
#include <QPainter>
#include <QPointF>
#include <QRectF>
#include <QString>

namespace studio {

// One pair (c, c + d/2) of a rotary head's q or k drawn in its own plane: the vector before the
// rotation, after it, and the arc of the angle between them.
struct PairRotationFigure {
    QPointF before; // (x_c, x_{c+d/2}) before the rotation
    QPointF after;  // the same pair after it
    double angle = 0.0; // radians, position · θ_c
    QString caption;    // "q of “it”, pair 0: position 5 × θ 1 = 5 rad"
};

// Where everything goes in an area: both vectors share the origin and one scale, so that the
// rotation keeps the length on screen too. Screen y grows downwards; the plane's grows upwards.
struct PairRotationGeometry {
    QPointF origin;
    double scale = 1.0;      // pixels per unit
    QPointF beforeTip, afterTip;
    QRectF arcRect;          // the circle the angle's arc lies on
    double startDegrees = 0; // QPainter::drawArc convention: counter-clockwise from 3 o'clock
    double spanDegrees = 0;
    QRectF captionRect;
};
PairRotationGeometry pairRotationGeometry(const PairRotationFigure &figure, const QRectF &area);

void paintPairRotation(QPainter &painter, const QRectF &area, const PairRotationFigure &figure);
// The figure as an image (for a rich-text explanation); a null image if it cannot be allocated.
QImage pairRotationImage(const PairRotationFigure &figure, QSize size, qreal devicePixelRatio);

} // namespace studio
