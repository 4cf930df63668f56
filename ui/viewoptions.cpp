#include "viewoptions.h"

#include "figures.h"

#include <algorithm>

namespace studio {

QFont ViewOptions::font() const
{
    return figureFont(m_fontSize);
}

void ViewOptions::setColorMap(ColorMapKind kind)
{
    if (kind == m_colorMap)
        return;
    m_colorMap = kind;
    Q_EMIT changed();
}

void ViewOptions::setShowNumbers(bool show)
{
    if (show == m_showNumbers)
        return;
    m_showNumbers = show;
    Q_EMIT changed();
}

void ViewOptions::setFontSize(int pixels)
{
    pixels = std::clamp(pixels, 9, 32);
    if (pixels == m_fontSize)
        return;
    m_fontSize = pixels;
    Q_EMIT changed();
}

} // namespace studio
