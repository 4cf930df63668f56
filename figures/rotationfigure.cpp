#include "rotationfigure.h"

#include "figures.h"

#include <QPainterPath>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace studio {

PairRotationGeometry pairRotationGeometry(const PairRotationFigure &figure, const QRectF &area)
{
    PairRotationGeometry g;
    const double captionHeight = std::min(24.0, area.height() / 5);
    g.captionRect = QRectF(area.left(), area.bottom() - captionHeight, area.width(), captionHeight);
    const QRectF plane(area.left(), area.top(), area.width(), area.height() - captionHeight);
    g.origin = plane.center();
    const double length = std::hypot(figure.before.x(), figure.before.y());
    const double radius = 0.42 * std::min(plane.width(), plane.height());
    g.scale = length > 0 && std::isfinite(length) ? radius / length : 1.0;
    auto toScreen = [&](QPointF p) { return QPointF(g.origin.x() + p.x() * g.scale, g.origin.y() - p.y() * g.scale); };
    g.beforeTip = toScreen(figure.before);
    g.afterTip = toScreen(figure.after);
    const double arcRadius = 0.35 * radius;
    g.arcRect = QRectF(g.origin.x() - arcRadius, g.origin.y() - arcRadius, 2 * arcRadius, 2 * arcRadius);
    g.startDegrees = std::atan2(figure.before.y(), figure.before.x()) * 180.0 / std::numbers::pi;
    // The turn itself, modulo a whole revolution (which leaves the vector where it was).
    g.spanDegrees = std::fmod(figure.angle, 2 * std::numbers::pi) * 180.0 / std::numbers::pi;
    return g;
}

void paintPairRotation(QPainter &painter, const QRectF &area, const PairRotationFigure &figure)
{
    const PairRotationGeometry g = pairRotationGeometry(figure, area);
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    painter.fillRect(area, Qt::white);
    painter.setPen(QPen(QColor(200, 200, 200), 1));
    painter.drawLine(QPointF(area.left() + 4, g.origin.y()), QPointF(area.right() - 4, g.origin.y()));
    painter.drawLine(QPointF(g.origin.x(), area.top() + 4), QPointF(g.origin.x(), g.captionRect.top() - 2));
    auto arrow = [&](QPointF tip, const QColor &color, const QString &label) {
        painter.setPen(QPen(color, 2.5));
        painter.drawLine(g.origin, tip);
        const QPointF direction = tip - g.origin;
        const double length = std::hypot(direction.x(), direction.y());
        if (length > 1) {
            const QPointF unit = direction / length;
            const QPointF normal(-unit.y(), unit.x());
            QPainterPath head;
            head.moveTo(tip);
            head.lineTo(tip - 9 * unit + 4.5 * normal);
            head.lineTo(tip - 9 * unit - 4.5 * normal);
            head.closeSubpath();
            painter.fillPath(head, color);
            painter.setFont(figureFont(12));
            painter.drawText(tip + 10 * unit - QPointF(6, -4), label);
        }
    };
    painter.setPen(QPen(QColor(120, 120, 120), 1.5, Qt::DashLine));
    painter.drawArc(g.arcRect, int(std::lround(g.startDegrees * 16)), int(std::lround(g.spanDegrees * 16)));
    arrow(g.beforeTip, QColor(90, 90, 90), QObject::tr("before"));
    arrow(g.afterTip, QColor(200, 60, 30), QObject::tr("after"));
    painter.setPen(Qt::black);
    painter.setFont(figureFont(12));
    painter.drawText(g.captionRect, Qt::AlignCenter | Qt::TextWordWrap, figure.caption);
    painter.restore();
}

QImage pairRotationImage(const PairRotationFigure &figure, QSize size, qreal devicePixelRatio)
{
    QImage image(size * devicePixelRatio, QImage::Format_ARGB32_Premultiplied);
    if (image.isNull())
        return image;
    image.setDevicePixelRatio(devicePixelRatio);
    QPainter painter(&image);
    paintPairRotation(painter, QRectF(QPointF(0, 0), QSizeF(size)), figure);
    return image;
}

} // namespace studio
