#include "colormap.h"

#include <QColor>

#include <algorithm>
#include <cmath>

namespace studio {

namespace {

QList<QRgb> anchors(ColorMapKind kind)
{
    switch (kind) {
    case ColorMapKind::Viridis: // matplotlib viridis at 0, 1/8, ..., 1
        return {0xFF440154, 0xFF482878, 0xFF3E4A89, 0xFF31688E, 0xFF26828E,
                0xFF1F9E89, 0xFF35B779, 0xFF6DCD59, 0xFFFDE725};
    case ColorMapKind::Cividis: // matplotlib cividis at 0, 1/9, ..., 1
        return {0xFF00224E, 0xFF123570, 0xFF3B496C, 0xFF575D6D, 0xFF707173,
                0xFF8A8779, 0xFFA69D75, 0xFFC4B56C, 0xFFE4CF5B, 0xFFFEE838};
    case ColorMapKind::Grayscale:
        return {0xFFFFFFFF, 0xFF000000};
    case ColorMapKind::Diverging: // ColorBrewer RdBu, reversed so that negative is blue
        return {0xFF2166AC, 0xFF67A9CF, 0xFFD1E5F0, 0xFFF7F7F7, 0xFFFDDBC7, 0xFFEF8A62, 0xFFB2182B};
    case ColorMapKind::DivergingPositive: // the same anchors from the centre on
        return {0xFFF7F7F7, 0xFFFDDBC7, 0xFFEF8A62, 0xFFB2182B};
    }
    return {0xFF000000, 0xFFFFFFFF};
}

} // namespace

QList<ColorMapKind> allColorMaps()
{
    return {ColorMapKind::Viridis, ColorMapKind::Cividis, ColorMapKind::Grayscale, ColorMapKind::Diverging};
}

QString colorMapName(ColorMapKind kind)
{
    switch (kind) {
    case ColorMapKind::Viridis: return QStringLiteral("viridis");
    case ColorMapKind::Cividis: return QStringLiteral("cividis");
    case ColorMapKind::Grayscale: return QStringLiteral("grayscale");
    case ColorMapKind::Diverging: return QStringLiteral("diverging");
    case ColorMapKind::DivergingPositive: return QStringLiteral("diverging (positive half)");
    }
    return {};
}

std::optional<ColorMapKind> colorMapFromName(const QString &name)
{
    for (ColorMapKind candidate : allColorMaps())
        if (colorMapName(candidate) == name)
            return candidate;
    return std::nullopt;
}

ColorMapKind colorMapFor(ValueKind values, ColorMapKind preferred)
{
    switch (values) {
    case ValueKind::Weights: return preferred == ColorMapKind::Diverging ? ColorMapKind::DivergingPositive : preferred;
    case ValueKind::Signed: return preferred == ColorMapKind::Viridis ? ColorMapKind::Diverging : preferred;
    }
    Q_UNREACHABLE();
}

ColorMap::ColorMap(ColorMapKind kind) : m_kind(kind)
{
    const QList<QRgb> stops = anchors(kind);
    const int segments = int(stops.size()) - 1;
    for (int i = 0; i < 256; ++i) {
        const double position = i / 255.0 * segments;
        const int segment = std::min(int(position), segments - 1);
        const double f = position - segment;
        const QRgb a = stops.at(segment);
        const QRgb b = stops.at(segment + 1);
        auto mix = [f](int x, int y) { return int(std::lround(x + (y - x) * f)); };
        m_table[size_t(i)] = qRgb(mix(qRed(a), qRed(b)), mix(qGreen(a), qGreen(b)), mix(qBlue(a), qBlue(b)));
    }
}

QRgb ColorMap::color(double t) const
{
    if (std::isnan(t))
        return kInvalid;
    const double clamped = std::clamp(t, 0.0, 1.0);
    return m_table[size_t(std::lround(clamped * 255.0))];
}

ColorScale ColorScale::fitted(double lo, double hi, bool zeroCentred)
{
    if (!std::isfinite(lo) || !std::isfinite(hi))
        return {0.0, 1.0};
    if (zeroCentred) {
        const double m = std::max(std::abs(lo), std::abs(hi));
        return m > 0.0 ? ColorScale{-m, m} : ColorScale{-1.0, 1.0};
    }
    if (hi <= lo)
        return {lo, lo + 1.0};
    return {lo, hi};
}

double ColorScale::normalised(double value) const
{
    if (std::isnan(value))
        return value;
    return (value - minimum) / (maximum - minimum);
}

} // namespace studio
