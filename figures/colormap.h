#pragma once

#include <QList>
#include <QRgb>
#include <QString>

#include <optional>

#include <array>

namespace studio {

enum class ColorMapKind {
    Viridis,   // perceptually uniform, colour-blind safe: the default
    Cividis,   // perceptually uniform, tuned for red-green colour blindness
    Grayscale, // white (low) to black (high), for print
    Diverging, // blue (negative), white (zero), red (positive): for pre-softmax stages
    // The diverging map's positive half, white (zero) to red (one): what weights, never negative,
    // use when the diverging map is chosen, so that 0 is white as everywhere else in that map.
    DivergingPositive,
};

QList<ColorMapKind> allColorMaps();
QString colorMapName(ColorMapKind kind);
std::optional<ColorMapKind> colorMapFromName(const QString &name);

// The one rule for which map a figure uses. Weights (0 to 1) use the preferred map (the diverging
// map's positive half when the diverging map is preferred: a weight of 0.5 is no centre). Signed values
// (scores, q, k, v, …) read best around zero, so they use the diverging map while the preference
// is the default (viridis); any other preference is used as chosen.
enum class ValueKind { Weights, Signed };
ColorMapKind colorMapFor(ValueKind values, ColorMapKind preferred);

// 256-entry lookup table built by linear interpolation between published anchor colours.
class ColorMap {
public:
    explicit ColorMap(ColorMapKind kind = ColorMapKind::Viridis);
    ColorMapKind kind() const { return m_kind; }
    // t in [0, 1]; outside values clamp, NaN gives the 'invalid' colour (magenta).
    QRgb color(double t) const;
    const std::array<QRgb, 256> &table() const { return m_table; }
    static constexpr QRgb kInvalid = 0xFFFF00FF;

private:
    ColorMapKind m_kind;
    std::array<QRgb, 256> m_table{};
};

// Maps a value range onto [0, 1]. A zero-centred scale uses [−m, m] with m = max(|min|, |max|),
// so that 0 sits at the middle colour of a diverging map.
struct ColorScale {
    double minimum = 0.0;
    double maximum = 1.0;

    static ColorScale fitted(double lo, double hi, bool zeroCentred);
    double normalised(double value) const;
};

} // namespace studio
