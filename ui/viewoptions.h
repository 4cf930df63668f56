#pragma once

#include "colormap.h"

#include <QFont>
#include <QObject>

namespace studio {

// Presentation choices shared by every view of a window (not part of the document: they change
// how numbers look, never the numbers).
class ViewOptions : public QObject {
    Q_OBJECT
public:
    explicit ViewOptions(QObject *parent = nullptr) : QObject(parent) {}

    ColorMapKind colorMap() const { return m_colorMap; }
    bool showNumbers() const { return m_showNumbers; }
    int fontSize() const { return m_fontSize; } // pixels
    QFont font() const;

    void setColorMap(ColorMapKind kind);
    void setShowNumbers(bool show);
    void setFontSize(int pixels); // clamped to 9..32

Q_SIGNALS:
    void changed();

private:
    ColorMapKind m_colorMap = ColorMapKind::Viridis;
    bool m_showNumbers = true;
    int m_fontSize = 13;
};

} // namespace studio
