#pragma once

#include <QSettings>
#include <QStringList>
#include <QVariant>

namespace studio {

// A typed setting, declared once with its key and default.
template<typename T>
struct Setting {
    const char *key;
    T fallback;

    T get() const
    {
        const QVariant value = QSettings().value(QLatin1String(key));
        return value.isValid() && value.canConvert<T>() ? value.value<T>() : fallback;
    }
    void set(const T &value) const { QSettings().setValue(QLatin1String(key), QVariant::fromValue(value)); }
};

namespace preferences {
inline const Setting<QByteArray> windowGeometry{"window/geometry", {}};
inline const Setting<QByteArray> windowState{"window/state", {}};
inline const Setting<QStringList> recentFiles{"files/recent", {}};
inline const Setting<QString> lastFolder{"files/lastFolder", {}};           // workspaces and exports
inline const Setting<QString> lastModelFolder{"files/lastModelFolder", {}}; // where model folders were opened
inline const Setting<QString> colorMap{"view/colorMap", QStringLiteral("viridis")};
inline const Setting<bool> showNumbers{"view/showNumbers", true};
inline const Setting<int> fontSize{"view/fontSize", 13};
inline const Setting<int> exportDpi{"export/dpi", 192};
inline constexpr int kMaxRecentFiles = 8;
} // namespace preferences

} // namespace studio
